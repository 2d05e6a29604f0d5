// Reads tap's TAP output line by line and keeps each failed test: its place (file, then subtests)
// and tap's diagnostic block. npm test prints them again at the end, where CI's last lines show them.

interface Failure {
  path: string[];
  diagnostic: string[];
}

const SUBTEST = /^( *)# Subtest: (.*)$/;
const NOT_OK = /^( *)not ok \d+ - (.*?)(?: # time=[\d.]+m?s)?$/;
const DIAGNOSTIC_LINES = 40;

export class TapFailures {
  private readonly failures: Failure[] = [];
  private readonly subtests: string[] = [];
  private partial = '';
  private open: { failure: Failure; indent: string } | undefined;

  read(chunk: string): void {
    const lines = (this.partial + chunk).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.readLine(line);
  }

  /** The failed tests that contain no other failed test, each with its diagnostic. */
  report(): string {
    const leaves = this.failures.filter(
      (f) => !this.failures.some((other) => other !== f && startsWith(other.path, f.path)),
    );
    if (leaves.length === 0) return '';
    const blocks = leaves.map((f) =>
      [`not ok: ${f.path.join(' > ')}`, ...f.diagnostic.slice(0, DIAGNOSTIC_LINES)].join('\n'),
    );
    return `\n# Failed tests (${leaves.length}):\n${blocks.join('\n\n')}\n`;
  }

  private readLine(line: string): void {
    if (this.open) {
      if (line.startsWith(this.open.indent) || line.trim() === '') {
        this.open.failure.diagnostic.push(line.slice(this.open.indent.length));
        if (line.trimEnd() === `${this.open.indent}...`) this.open = undefined;
        return;
      }
      this.open = undefined;
    }
    const subtest = SUBTEST.exec(line);
    if (subtest) {
      this.subtests[depth(subtest[1])] = subtest[2];
      return;
    }
    const notOk = NOT_OK.exec(line);
    if (notOk) {
      const level = depth(notOk[1]);
      const failure = { path: [...this.subtests.slice(0, level), notOk[2]], diagnostic: [] };
      this.failures.push(failure);
      this.open = { failure, indent: `${notOk[1]}  ` };
    }
  }
}

function depth(indent: string): number {
  return Math.floor(indent.length / 4);
}

function startsWith(path: string[], prefix: string[]): boolean {
  return path.length > prefix.length && prefix.every((name, i) => path[i] === name);
}
