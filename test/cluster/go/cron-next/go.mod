// Test helper module: the run times robfig/cron computes as kube-controller-manager calls it,
// at the version the pinned k8s.io/kubernetes requires (see ../kubernetes/go.mod).
module hks.local/cluster/cron-next

go 1.24.0

require github.com/robfig/cron/v3 v3.0.1
