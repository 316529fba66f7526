import { describe, expect, it } from 'vitest';
import {
  ActionFormatError,
  formatBoxAction,
  formatPointAction,
  localizationPrompt,
  parseBoxAction,
  parseLenientJson,
  parsePointAction,
  pointActionType,
  refinementPrompt,
} from '../../core/actions/index.ts';
import type { ParseResult, PointAction } from '../../core/actions/index.ts';
import { ValidationError } from '../../core/errors/index.ts';

const size = { width: 640, height: 480 };

function expectOk<A>(r: ParseResult<A>): A {
  if (!r.ok) throw new Error(`expected ok, got ${r.error.message}`);
  return r.action;
}

function expectErr<A>(r: ParseResult<A>): ActionFormatError {
  if (r.ok) throw new Error(`expected a format error, got ${JSON.stringify(r.action)}`);
  expect(r.error).toBeInstanceOf(ActionFormatError);
  expect(r.error).toBeInstanceOf(ValidationError);
  expect(r.error.code).toBe('INVALID_ARGUMENT');
  return r.error;
}

describe('formatting', () => {
  it('writes the box grammar with integer coordinates', () => {
    expect(formatBoxAction([10.4, 20.6, 100, 200.5])).toBe('{"bbox_2d":[10,21,100,201]}');
  });

  it('writes point pairs with nulls', () => {
    expect(formatPointAction({ positive: [3.2, 4.7], negative: null })).toBe(
      '{"positive_point":[3,5],"negative_point":null}',
    );
    expect(formatPointAction({ positive: null, negative: null })).toBe(
      '{"positive_point":null,"negative_point":null}',
    );
    expect(formatPointAction({ positive: [-0.2, 0], negative: [1, 2] })).toBe(
      '{"positive_point":[0,0],"negative_point":[1,2]}',
    );
  });

  it('round-trips through the parsers', () => {
    expect(expectOk(parseBoxAction(formatBoxAction([1, 2, 30, 40]), size)).box).toEqual([1, 2, 30, 40]);
    const a: PointAction = { kind: 'points', positive: [5, 6], negative: [7, 8] };
    expect(expectOk(parsePointAction(formatPointAction(a), size))).toEqual(a);
  });

  it('classifies the four point-action types', () => {
    expect(pointActionType({ kind: 'points', positive: null, negative: null })).toBe('stop');
    expect(pointActionType({ kind: 'points', positive: [1, 1], negative: null })).toBe('positive');
    expect(pointActionType({ kind: 'points', positive: null, negative: [1, 1] })).toBe('negative');
    expect(pointActionType({ kind: 'points', positive: [1, 1], negative: [2, 2] })).toBe('both');
  });
});

describe('parseBoxAction accepts what MLLMs emit', () => {
  const cases: Array<[string, string]> = [
    ['bare JSON', '{"bbox_2d": [10, 20, 110, 220]}'],
    ['text around it', 'The dog is on the left. {"bbox_2d": [10, 20, 110, 220]} That is my answer.'],
    [
      'answer tags with thinking',
      '<think>the {"bbox_2d": [0,0,1,1]} is a guess</think><answer>{"bbox_2d":[10,20,110,220]}</answer>',
    ],
    ['a json code fence', 'Here:\n```json\n{\n  "bbox_2d": [10, 20, 110, 220]\n}\n```'],
    ['single quotes', "{'bbox_2d': [10, 20, 110, 220]}"],
    ['trailing commas', '{"bbox_2d": [10, 20, 110, 220,],}'],
    ['a one-element list', '[{"bbox_2d": [10, 20, 110, 220]}]'],
    ['unquoted key', '{bbox_2d: [10, 20, 110, 220]}'],
    ['numbers as strings', '{"bbox_2d": ["10", "20", "110", "220"]}'],
    ['an apostrophe in prose before it', 'The dog\'s box: {"bbox_2d": [10, 20, 110, 220]}'],
    ['an unclosed answer tag', '<answer> {"bbox_2d": [10, 20, 110, 220]}'],
    ['extra keys', '{"label": "dog", "bbox_2d": [10, 20, 110, 220]}'],
  ];
  for (const [name, text] of cases) {
    it(name, () => {
      expect(expectOk(parseBoxAction(text, size))).toEqual({ kind: 'box', box: [10, 20, 110, 220] });
    });
  }

  it('keeps float coordinates', () => {
    expect(expectOk(parseBoxAction('{"bbox_2d":[10.5,20.25,110,220.75]}', size)).box).toEqual([
      10.5, 20.25, 110, 220.75,
    ]);
  });

  it('prefers the last keyed object (the answer comes after the reasoning)', () => {
    const text = 'First I thought {"bbox_2d":[1,1,2,2]} but then {"bbox_2d":[10,20,110,220]}';
    expect(expectOk(parseBoxAction(text)).box).toEqual([10, 20, 110, 220]);
  });

  it('does not check the image bounds without a size', () => {
    expect(expectOk(parseBoxAction('{"bbox_2d":[0,0,5000,5000]}')).box).toEqual([0, 0, 5000, 5000]);
  });

  it('clamps on request', () => {
    expect(expectOk(parseBoxAction('{"bbox_2d":[-5,10,700,100]}', size, { clamp: true })).box).toEqual([
      0, 10, 640, 100,
    ]);
  });
});

describe('parseBoxAction rejects malformed text with a named field', () => {
  it('no JSON at all', () => {
    const e = expectErr(parseBoxAction('I cannot find it.'));
    expect(e.reason).toBe('no_json');
    expect(e.field).toBe('action');
    expect(e.message).toBe('action "I cannot find it." contains no JSON object with bbox_2d');
  });

  it('broken JSON', () => {
    const e = expectErr(parseBoxAction('{"bbox_2d": [10, 20 110, 220]}'));
    expect(e.reason).toBe('syntax');
    expect(e.message).toBe(
      `action "{\\"bbox_2d\\": [10, 20 110, 220]}" is not valid JSON (expected ',' or ']' at position 20)`,
    );
  });

  it('missing key', () => {
    const e = expectErr(parseBoxAction('{"box": [1,2,3,4]}'));
    expect(e.reason).toBe('missing_field');
    expect(e.field).toBe('bbox_2d');
    expect(e.message).toBe('bbox_2d undefined is missing (keys present: box)');
  });

  it('wrong arity', () => {
    const e = expectErr(parseBoxAction('{"bbox_2d": [1, 2, 3]}'));
    expect(e.field).toBe('bbox_2d');
    expect(e.value).toEqual([1, 2, 3]);
    expect(e.message).toBe('bbox_2d [1, 2, 3] must be [x1, y1, x2, y2]');
  });

  it('NaN and Infinity', () => {
    expect(expectErr(parseBoxAction('{"bbox_2d": [1, NaN, 3, 4]}')).message).toBe(
      'bbox_2d [1, NaN, 3, 4] must be finite numbers',
    );
    expect(expectErr(parseBoxAction('{"bbox_2d": [1, 2, Infinity, 4]}')).message).toBe(
      'bbox_2d [1, 2, Infinity, 4] must be finite numbers',
    );
    expect(expectErr(parseBoxAction('{"bbox_2d": [-inf, 2, 3, 4]}')).field).toBe('bbox_2d');
    expect(expectErr(parseBoxAction('{"bbox_2d": [1, "two", 3, 4]}')).field).toBe('bbox_2d');
  });

  it('x2 < x1 and y2 < y1, with or without a size', () => {
    expect(expectErr(parseBoxAction('{"bbox_2d": [50, 20, 10, 220]}')).message).toBe(
      'bbox_2d [50, 20, 10, 220] has x2 < x1',
    );
    expect(expectErr(parseBoxAction('{"bbox_2d": [10, 220, 50, 20]}', size)).message).toBe(
      'bbox_2d [10, 220, 50, 20] has y2 < y1',
    );
  });

  it('outside the image', () => {
    const e = expectErr(parseBoxAction('{"bbox_2d": [10, 20, 700, 220]}', size));
    expect(e.reason).toBe('bad_value');
    expect(e.message).toBe('bbox_2d [10, 20, 700, 220] is outside the 640x480 image');
  });

  it('a list of several boxes', () => {
    const e = expectErr(parseBoxAction('[{"bbox_2d":[1,2,3,4]},{"bbox_2d":[5,6,7,8]}]'));
    expect(e.field).toBe('action');
    expect(e.message).toMatch(/must be one object, not a list of 2 items$/);
  });

  it('never throws, even on odd input', () => {
    const inputs = [
      '',
      '{',
      '}{',
      '[[[[',
      '{"bbox_2d": [1,2,3',
      '{"bbox_2d": {}}',
      '{"bbox_2d": null}',
      '"\\u12"',
      '{a:}',
    ];
    for (const t of inputs) expect(parseBoxAction(t, size).ok).toBe(false);
    expect(parseBoxAction(undefined as unknown as string).ok).toBe(false);
  });
});

describe('parsePointAction', () => {
  it('reads both points, one point, and stop', () => {
    expect(
      expectOk(
        parsePointAction(
          '<answer>{"positive_point": [100, 200], "negative_point": [300, 50]}</answer>',
          size,
        ),
      ),
    ).toEqual({
      kind: 'points',
      positive: [100, 200],
      negative: [300, 50],
    });
    expect(
      expectOk(parsePointAction('{"positive_point": [100, 200], "negative_point": null}', size)).negative,
    ).toBeNull();
    const stop = expectOk(
      parsePointAction("```json\n{'positive_point': None, 'negative_point': None,}\n```", size),
    );
    expect(pointActionType(stop)).toBe('stop');
  });

  it('treats a missing key, "null" and [] as no point', () => {
    expect(expectOk(parsePointAction('{"negative_point": [1, 2]}', size))).toEqual({
      kind: 'points',
      positive: null,
      negative: [1, 2],
    });
    expect(expectOk(parsePointAction('{"positive_point": "null", "negative_point": []}', size))).toEqual({
      kind: 'points',
      positive: null,
      negative: null,
    });
  });

  it('names the bad point field', () => {
    let e = expectErr(parsePointAction('{"positive_point": [1, 2, 3], "negative_point": null}', size));
    expect(e.field).toBe('positive_point');
    expect(e.message).toBe('positive_point [1, 2, 3] must be [x, y] or null');
    e = expectErr(parsePointAction('{"positive_point": null, "negative_point": [NaN, 2]}', size));
    expect(e.message).toBe('negative_point [NaN, 2] must be finite numbers');
    e = expectErr(parsePointAction('{"positive_point": [640, 10], "negative_point": null}', size));
    expect(e.message).toBe('positive_point [640, 10] is outside the 640x480 image');
    e = expectErr(parsePointAction('{"positive_point": null, "negative_point": [-1, 10]}', size));
    expect(e.field).toBe('negative_point');
  });

  it('rejects text without either key', () => {
    const e = expectErr(parsePointAction('{"point": [1, 2]}'));
    expect(e.reason).toBe('missing_field');
    expect(e.field).toBe('action');
  });

  it('clamps on request', () => {
    const a = expectOk(
      parsePointAction('{"positive_point": [700, -3], "negative_point": null}', size, { clamp: true }),
    );
    expect(a.positive?.[0]).toBeCloseTo(640, 3);
    expect(a.positive?.[0]).toBeLessThan(640);
    expect(a.positive?.[1]).toBe(0);
  });
});

describe('lenient JSON', () => {
  it('keeps quotes inside strings and reads Python literals', () => {
    expect(parseLenientJson(`{'a': "it's", "b": True, c: None, d: -1.5e2, e: [1,],}`)).toEqual({
      a: "it's",
      b: true,
      c: null,
      d: -150,
      e: [1],
    });
  });
});

describe('prompts', () => {
  it('fill the query and size and state the grammar', () => {
    const qb = localizationPrompt('the "red" cup', size);
    expect(qb).toContain("the 'red' cup");
    expect(qb).toContain('640 pixels wide and 480 pixels high');
    expect(qb).toContain('{"bbox_2d": [x1, y1, x2, y2]}');
    const qp = refinementPrompt('the cup', size);
    expect(qp).toContain('"positive_point"');
    expect(qp).toContain('both null');
    expect(qp).not.toContain('{query}');
  });
});

describe('bare key-value pairs without braces', () => {
  it('reads them when no keyed object exists', () => {
    expect(expectOk(parseBoxAction('Final answer: bbox_2d: [10, 20, 110, 220]', size)).box).toEqual([
      10, 20, 110, 220,
    ]);
    expect(expectOk(parsePointAction('positive_point = [5, 6], negative_point = None', size))).toEqual({
      kind: 'points',
      positive: [5, 6],
      negative: null,
    });
  });

  it('accepts an answer cut off after a complete box', () => {
    expect(expectOk(parseBoxAction('<answer>{"bbox_2d": [1, 2, 3, 4]', size)).box).toEqual([1, 2, 3, 4]);
  });

  it('still reports an unkeyed list as the wrong shape', () => {
    const e = expectErr(parseBoxAction('The box is [1, 2, 3, 4].'));
    expect(e.message).toBe('action [1, 2, 3, 4] must be one object, not a list of 4 items');
  });
});
