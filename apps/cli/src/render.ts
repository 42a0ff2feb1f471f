import { hostname } from 'node:os';
import type { RunEvent, RunSummary } from '@lockpick/engine';

/** Where plain and JSON output goes: stdout, or a guard in front of it that drops text once its reader has gone. */
export interface TextSink {
  write(text: string): unknown;
}

/** How run events reach the person: bars on a terminal, plain lines in logs, JSON for programs. */
export interface RunRenderer {
  onEvent(event: RunEvent): void;
  close(): void;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

function bar(done: number, total: number, width: number): string {
  const frac = total > 0 ? Math.min(1, done / total) : 0;
  const full = Math.floor(frac * width);
  const part = frac * width - full > 0.5 ? '▌' : '';
  return `${'█'.repeat(full)}${part}`.padEnd(width, '·');
}

function eta(startedAt: number, done: number, total: number): string {
  if (done <= 0 || total <= 0 || done >= total) return '';
  const elapsed = performance.now() - startedAt;
  return ` eta ${formatDuration((elapsed / done) * (total - done))}`;
}

export function summaryLine(summary: RunSummary): string {
  const parts = [`${summary.computed.length} computed`, `${summary.cached.length} cached`];
  if (summary.failed.length) parts.push(`${summary.failed.length} failed`);
  if (summary.notRun.length) parts.push(`${summary.notRun.length} not run`);
  const what = summary.cancelled ? 'cancelled' : summary.failed.length ? 'failed' : 'done';
  return `${summary.pipeline}: ${what} in ${formatDuration(summary.durationMs)} — ${parts.join(', ')}`;
}

/** Who holds the lock a node waits on, and where the lock file is (to delete if that run is gone). */
function waitingText(event: Extract<RunEvent, { type: 'node-waiting' }>): string {
  const where = event.holder.host === hostname() ? '' : ` on ${event.holder.host}`;
  const hint = where ? '; if that run is gone, delete the lock file' : '';
  return `another run (pid ${event.holder.pid}${where}, since ${event.holder.since}) is computing it; waiting (lock ${event.lockFile}${hint})`;
}

/** A run waiting for a gc to finish collecting before its nodes start. */
function gcWaitingText(event: Extract<RunEvent, { type: 'gc-waiting' }>): string {
  return `waiting for gc (pid ${event.holder.pid} on ${event.holder.host}) to finish collecting this store (lock ${event.lockFile})`;
}

function failureLines(summary: RunSummary): string[] {
  const lines = summary.failed.map((f) => `  ✗ ${f.node}: ${f.error}`);
  if (summary.cancelled)
    lines.push('  Interrupted: finished nodes are kept; run the same command again to resume.');
  return lines;
}

interface ActiveNode {
  stage: string;
  startedAt: number;
  progress?: { done: number; total: number; unit: string; label?: string; at: number };
  metric?: string;
}

/** Live progress bars, redrawn in place at most ten times a second. */
export class TerminalRenderer implements RunRenderer {
  private readonly active = new Map<string, ActiveNode>();
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;
  private total = 0;
  private settled = 0;

  constructor(private readonly out: NodeJS.WriteStream) {
    this.timer = setInterval(() => this.draw(), 100);
  }

  private clear(): void {
    if (this.drawn > 0) this.out.write(`\x1b[${this.drawn}A\x1b[0J`);
    this.drawn = 0;
  }

  private permanent(line: string): void {
    this.clear();
    this.out.write(`${line}\n`);
    this.draw();
  }

  private draw(): void {
    this.clear();
    const width = Math.max(40, (this.out.columns ?? 100) - 1);
    const lines = [`[${this.settled}/${this.total} nodes]`];
    for (const [node, a] of this.active) {
      const elapsed = formatDuration(performance.now() - a.startedAt);
      if (a.progress) {
        const p = a.progress;
        const head = `  ${node} `;
        const tail = ` ${p.done}/${p.total} ${p.unit}${eta(a.startedAt, p.done, p.total)} ${a.metric ?? ''} (${elapsed})`;
        // The bar takes what the terminal leaves, between 8 and 24 cells.
        const barWidth = Math.max(8, Math.min(24, width - head.length - tail.length));
        lines.push(`${head}${bar(p.done, p.total, barWidth)}${tail}`.slice(0, width));
      } else lines.push(`  ${node} (${a.stage}) running… ${elapsed}`.slice(0, width));
    }
    this.out.write(`${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }

  onEvent(event: RunEvent): void {
    switch (event.type) {
      case 'run-start':
        this.total = event.nodes.length;
        break;
      case 'node-start':
        this.active.set(event.node, { stage: event.stage, startedAt: performance.now() });
        break;
      case 'node-waiting':
        this.permanent(`  … ${event.node}: ${waitingText(event)}`);
        break;
      case 'gc-waiting':
        this.permanent(`  … ${gcWaitingText(event)}`);
        break;
      case 'node-event': {
        const a = this.active.get(event.node);
        if (!a) break;
        const e = event.event;
        if (e.type === 'progress') a.progress = { ...e, at: performance.now() };
        else if (e.type === 'metric') a.metric = `${e.name}=${formatNumber(e.value)}`;
        else if (e.type === 'log')
          this.permanent(`  ${e.level === 'warn' ? '⚠' : '·'} ${event.node}: ${e.message}`);
        else if (e.type === 'backend') this.permanent(`  · ${event.node}: backend ${e.name}`);
        break;
      }
      case 'node-done':
        this.active.delete(event.node);
        this.settled++;
        if (event.status !== 'cached')
          this.permanent(
            `✓ ${event.node} ${event.status === 'computed' ? '' : '(by another run) '}${formatDuration(event.durationMs)}`,
          );
        break;
      case 'node-failed':
        this.active.delete(event.node);
        this.settled++;
        this.permanent(`✗ ${event.node}: ${event.error}`);
        break;
      case 'node-skipped':
        this.settled++;
        break;
      case 'warning':
        this.permanent(`⚠ ${event.message}`);
        break;
      case 'run-done':
        if (this.timer) clearInterval(this.timer);
        this.timer = undefined;
        this.clear();
        if (event.summary.cached.length > 0)
          this.out.write(`· ${event.summary.cached.length} nodes cached\n`);
        this.out.write(`${[summaryLine(event.summary), ...failureLines(event.summary)].join('\n')}\n`);
        break;
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.clear();
  }
}

/** Plain lines for logs and CI: one per node start and end, progress at most every 10% or 10 s. */
export class PlainRenderer implements RunRenderer {
  private readonly lastProgress = new Map<string, { frac: number; at: number }>();

  /** `workerLabel`: how a node on a worker is marked (a thread here; a machine on a cluster). */
  constructor(
    private readonly out: TextSink,
    private readonly workerLabel = 'worker thread',
  ) {}

  private line(text: string): void {
    this.out.write(`${text}\n`);
  }

  onEvent(event: RunEvent): void {
    switch (event.type) {
      case 'run-start':
        this.line(`${event.pipeline}: ${event.nodes.length} nodes (run ${event.runId})`);
        break;
      case 'node-start':
        this.line(
          `start ${event.node} (${event.stage}${event.where === 'worker' ? `, ${this.workerLabel}` : ''})`,
        );
        break;
      case 'node-waiting':
        this.line(`wait  ${event.node}: ${waitingText(event)}`);
        break;
      case 'gc-waiting':
        this.line(`wait  ${gcWaitingText(event)}`);
        break;
      case 'node-event': {
        const e = event.event;
        if (e.type === 'progress') {
          const frac = e.total > 0 ? e.done / e.total : 0;
          const last = this.lastProgress.get(event.node) ?? { frac: 0, at: performance.now() };
          if (
            frac - last.frac >= 0.1 ||
            performance.now() - last.at > 10_000 ||
            (e.done === e.total && last.frac < 1)
          ) {
            this.lastProgress.set(event.node, { frac, at: performance.now() });
            this.line(`      ${event.node}: ${e.done}/${e.total} ${e.unit}${e.label ? ` ${e.label}` : ''}`);
          }
        } else if (e.type === 'log')
          this.line(`${e.level === 'warn' ? 'warn ' : 'log  '} ${event.node}: ${e.message}`);
        else if (e.type === 'backend') this.line(`      ${event.node}: backend ${e.name}`);
        break;
      }
      case 'node-done':
        this.line(
          `${event.status === 'cached' ? 'cache' : 'done '} ${event.node} (${formatDuration(event.durationMs)})`,
        );
        break;
      case 'node-failed':
        this.line(`FAIL  ${event.node}: ${event.error}`);
        break;
      case 'node-skipped':
        this.line(`skip  ${event.node}: ${event.reason}`);
        break;
      case 'warning':
        this.line(`warn  ${event.message}`);
        break;
      case 'run-done':
        this.line([summaryLine(event.summary), ...failureLines(event.summary)].join('\n'));
        break;
    }
  }

  close(): void {}
}

/** One JSON object per line, for programs. */
export class JsonRenderer implements RunRenderer {
  constructor(private readonly out: TextSink) {}
  onEvent(event: RunEvent): void {
    this.out.write(`${JSON.stringify(event)}\n`);
  }
  close(): void {}
}

export function formatNumber(value: number): string {
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return value.toExponential(3);
  return value.toFixed(abs < 1 ? 4 : 3);
}
