import { afterEach, describe, expect, it, vi } from "vitest";
import { Watchdog } from "./watchdog.js";

afterEach(() => vi.useRealTimers());

describe("Watchdog", () => {
  it("fires a grace period after the deadline when the agent is silent", () => {
    vi.useFakeTimers();
    const w = new Watchdog(1000, 500, 60_000);
    vi.advanceTimersByTime(1499);
    expect(w.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(w.signal.aborted).toBe(true);
  });

  it("waits while the agent is still delivering output, then fires once it goes quiet", () => {
    vi.useFakeTimers();
    const w = new Watchdog(1000, 500, 60_000);
    for (let i = 0; i < 10; i++) {
      vi.advanceTimersByTime(400);
      w.activity();
    }
    expect(w.signal.aborted).toBe(false);
    vi.advanceTimersByTime(500);
    expect(w.signal.aborted).toBe(true);
  });

  it("fires at the hard limit however busy the agent is", () => {
    vi.useFakeTimers();
    const w = new Watchdog(1000, 500, 3000);
    for (let i = 0; i < 20; i++) {
      vi.advanceTimersByTime(100);
      w.activity();
    }
    vi.advanceTimersByTime(1000);
    expect(w.signal.aborted).toBe(true);
  });

  it("stays quiet once stopped", () => {
    vi.useFakeTimers();
    const w = new Watchdog(1000, 500, 3000);
    w.stop();
    vi.advanceTimersByTime(10_000);
    expect(w.signal.aborted).toBe(false);
  });
});
