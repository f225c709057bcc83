import fc from 'fast-check';
import { arrayLiteral, utcTime } from '../../src/common/database/array-literal';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { prepareValue } = require('pg/lib/utils') as { prepareValue: (v: unknown) => unknown };

describe('arrayLiteral', () => {
  it('writes numbers bare, NULLs, booleans, and every string quoted', () => {
    expect(arrayLiteral([1, -2, 0, 3.5, null, undefined, 12345678901234n, true, false])).toBe('{1,-2,0,3.5,NULL,NULL,12345678901234,t,f}');
    expect(arrayLiteral(['', 'NULL', 'a b', '{x,y}', 'é ü 中'])).toBe('{"","NULL","a b","{x,y}","é ü 中"}');
    expect(arrayLiteral([])).toBe('{}');
  });

  it('escapes double quotes and backslashes, and nothing else', () => {
    expect(arrayLiteral(['say "hi"', 'C:\\dir\\', '\\"', '{"a":1}'])).toBe(String.raw`{"say \"hi\"","C:\\dir\\","\\\"","{\"a\":1}"}`);
  });

  it('writes times in UTC as toISOString does, at the edges of days, years and the calendar', () => {
    const times = [
      '1970-01-01T00:00:00.000Z',
      '1969-12-31T23:59:59.999Z',
      '2016-02-29T23:59:59.999Z',
      '2016-03-25T17:22:10.687Z',
      '0001-01-01T00:00:00.000Z',
      '9999-12-31T23:59:59.999Z',
    ].map((t) => new Date(t));
    expect(arrayLiteral(times)).toBe(`{${times.map((t) => t.toISOString()).join(',')}}`);
    // The day's text is kept between calls: a time of another day right after must not take it.
    expect(utcTime(new Date('2016-03-25T23:59:59.999Z'))).toBe('2016-03-25T23:59:59.999Z');
    expect(utcTime(new Date('2016-03-26T00:00:00.000Z'))).toBe('2016-03-26T00:00:00.000Z');
    expect(utcTime(new Date('2016-03-25T00:00:00.001Z'))).toBe('2016-03-25T00:00:00.001Z');
  });

  it('matches toISOString for any time of years 1 to 9999', () => {
    fc.assert(
      fc.property(fc.integer({ min: -62135596800000, max: 253402300799999 }), (ms) => {
        const d = new Date(ms);
        expect(utcTime(d)).toBe(d.toISOString());
      }),
      { numRuns: 20_000 },
    );
  });

  it('leaves to pg the lists it does not encode: NaN, infinities, invalid or out-of-range times, objects, nested lists', () => {
    for (const odd of [
      NaN,
      Infinity,
      new Date(NaN),
      new Date('+010000-01-01T00:00:00Z'),
      new Date('-000001-01-01T00:00:00Z'),
      { a: 1 },
      [1],
      Buffer.from('x'),
    ]) {
      const list = [1, odd];
      expect(arrayLiteral(list)).toBe(list);
    }
  });

  it('gives pg’s own text for lists of strings', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string({ unit: 'binary' }), fc.constant(null))), (list) => {
        expect(arrayLiteral(list)).toBe(prepareValue(list));
      }),
    );
  });
});
