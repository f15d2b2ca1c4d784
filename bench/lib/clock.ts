/**
 * Milliseconds on CLOCK_MONOTONIC: one clock for every process on the machine, never
 * stepped. `performance.timeOrigin + performance.now()` is not such a clock: each process
 * takes its origin from the wall clock as it starts, so a step of the wall clock between
 * two processes' starts (a virtual machine's clock corrected after a pause) shifts every
 * time one process compares with the other's by that step.
 */
export const machineClockMs = () => Number(process.hrtime.bigint()) / 1e6;
