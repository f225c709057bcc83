/** Report times of the state machine tests: `sec` seconds into one minute of a 2016 deployment. */
export const at = (sec: number): Date => new Date(Date.UTC(2016, 2, 25, 17, 22, sec));

/** Both arrival orders of two reports: a state machine must reach the same state either way. */
export const bothOrders = <T>(a: T, b: T): T[][] => [
  [a, b],
  [b, a],
];
