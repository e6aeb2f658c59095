// Command cron-next prints the run times kube-controller-manager's CronJob controller computes
// for a schedule: it reads JSON lines {"schedule", "timeZone", "from", "count"} on stdin and
// writes one JSON line {"runs": [RFC 3339 UTC times]} or {"error": "..."} per input line.
//
// It calls github.com/robfig/cron/v3 the way pkg/controller/cronjob does: the schedule with a
// "TZ=<timeZone> " prefix, cron.ParseStandard, then Schedule.Next from the previous time. A
// zero time from Next (nothing within its five-year search) ends the list early.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"time"
	_ "time/tzdata" // kube-controller-manager embeds it too, for machines without zoneinfo

	"github.com/robfig/cron/v3"
)

type request struct {
	Schedule string `json:"schedule"`
	TimeZone string `json:"timeZone"`
	From     string `json:"from"`
	Count    int    `json:"count"`
}

type response struct {
	Runs  []string `json:"runs,omitempty"`
	Error string   `json:"error,omitempty"`
}

func nextRuns(req request) ([]string, error) {
	from, err := time.Parse(time.RFC3339Nano, req.From)
	if err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	if _, err := time.LoadLocation(req.TimeZone); err != nil {
		return nil, fmt.Errorf("timeZone: %w", err)
	}
	schedule, err := cron.ParseStandard(fmt.Sprintf("TZ=%s %s", req.TimeZone, req.Schedule))
	if err != nil {
		return nil, fmt.Errorf("schedule: %w", err)
	}
	runs := make([]string, 0, req.Count)
	for t := from; len(runs) < req.Count; {
		t = schedule.Next(t)
		if t.IsZero() {
			break
		}
		runs = append(runs, t.UTC().Format(time.RFC3339))
	}
	return runs, nil
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 64*1024), 1024*1024)
	out := bufio.NewWriter(os.Stdout)
	encoder := json.NewEncoder(out)
	for in.Scan() {
		var req request
		var res response
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			res.Error = err.Error()
		} else if runs, err := nextRuns(req); err != nil {
			res.Error = err.Error()
		} else {
			res.Runs = runs
		}
		if err := encoder.Encode(res); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		// One answer per line as soon as it is known, so a caller can pair lines.
		if err := out.Flush(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
