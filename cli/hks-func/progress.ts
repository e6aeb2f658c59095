import type { CliIo } from './context';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * A progress indicator on stderr: a spinner redrawn in place when stderr is a terminal,
 * otherwise one plain line each time the text changes (logs of CI runs stay readable).
 */
export class Progress {
  private text = '';
  private frame = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly io: CliIo,
    /** Off: nothing is written (json output). */
    private readonly enabled: boolean,
  ) {}

  /** Shows a new state. */
  public update(text: string): void {
    if (!this.enabled || text === this.text) return;
    this.text = text;
    if (!this.io.stderrIsTTY) {
      this.io.stderr(`${text}\n`);
      return;
    }
    this.timer ??= setInterval(() => this.draw(), 100);
    this.draw();
  }

  /** Ends the indicator with a final line. */
  public done(text: string): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (!this.enabled) return;
    this.io.stderr(this.io.stderrIsTTY ? `\r\x1b[K${text}\n` : `${text}\n`);
    this.text = '';
  }

  private draw(): void {
    this.frame = (this.frame + 1) % FRAMES.length;
    this.io.stderr(`\r\x1b[K${FRAMES[this.frame]} ${this.text}`);
  }
}
