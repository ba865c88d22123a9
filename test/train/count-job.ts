/** A job for the worker tests: reports `count` events, then returns their sum (never returns for count < 0). */
export async function countJob(count: number, emit: (n: number) => void): Promise<number> {
  if (count < 0) return new Promise(() => {});
  for (let i = 1; i <= count; i++) emit(i);
  return (count * (count + 1)) / 2;
}
