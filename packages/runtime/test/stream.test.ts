import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeModelFile } from '../src/format/model-file.js';
import { SkeletonClassifier, SkelpruneError } from '../src/index.js';
import { packed, TINY_FRAMES, tinyModelBytes, tinyModelFile, tinySequence } from './tiny-model.js';

describe('StreamingClassifier', async () => {
  const model = await SkeletonClassifier.load(tinyModelBytes());
  const frames = tinySequence(7, 30);

  it('defaults its window to the length of the training clips when the file records it', async () => {
    const file = tinyModelFile();
    file.input.preprocessing.clipFrames = 21;
    const recorded = await SkeletonClassifier.load(encodeModelFile(file));
    assert.equal(recorded.info.clipFrames, 21);
    assert.equal(recorded.stream().window, 21);
    assert.equal(model.info.clipFrames, null, 'older files record none');
  });

  it('defaults its window to the model frame window and waits for it', () => {
    const stream = model.stream();
    assert.equal(stream.window, TINY_FRAMES);
    assert.equal(stream.minFrames, TINY_FRAMES);
    for (let f = 0; f < TINY_FRAMES - 1; f++) {
      stream.push(frames[f]);
      assert.equal(stream.ready, false);
      assert.equal(stream.predict(), null);
    }
    stream.push(frames[TINY_FRAMES - 1]);
    assert.equal(stream.ready, true);
    assert.deepEqual(stream.predict(), model.predict(frames.slice(0, TINY_FRAMES)));
  });

  it('answers from minFrames on with the frames so far', () => {
    const stream = model.stream({ window: 12, minFrames: 3 });
    stream.push(frames[0]).push(frames[1]);
    assert.equal(stream.predict(), null);
    stream.push(frames[2]);
    assert.equal(stream.frames, 3);
    assert.deepEqual(stream.predict(), model.predict(frames.slice(0, 3)));
  });

  it('classifies the last `window` frames once more have been pushed (the ring buffer wraps)', () => {
    const window = 10;
    const stream = model.stream({ window });
    for (let n = 1; n <= frames.length; n++) {
      stream.push(frames[n - 1]);
      if (n < window) continue;
      assert.equal(stream.frames, window);
      assert.deepEqual(
        stream.predict({ topK: 2 }),
        model.predict(frames.slice(n - window, n), { topK: 2 }),
        `${n} pushed`,
      );
    }
  });

  it('takes flat and multi-person frames as well as joints × 3', () => {
    const flat = model.stream({ window: 4 });
    const people = model.stream({ window: 4 });
    frames.slice(0, 4).forEach((frame, f) => {
      // Flat coordinates as a typed array or as a plain array of numbers.
      flat.push(f % 2 === 0 ? packed([frame]) : [...packed([frame])]);
      people.push([frame]);
    });
    const expected = model.predict(frames.slice(0, 4));
    assert.deepEqual(flat.predict(), expected);
    assert.deepEqual(people.predict(), expected);
  });

  it('forgets every frame on reset', () => {
    const stream = model.stream({ window: 5 });
    for (const frame of frames.slice(0, 8)) stream.push(frame);
    stream.reset();
    assert.equal(stream.frames, 0);
    assert.equal(stream.predict(), null);
    for (const frame of frames.slice(20, 25)) stream.push(frame);
    assert.deepEqual(stream.predict(), model.predict(frames.slice(20, 25)));
  });

  it('refuses a bad frame without taking it, and bad options', () => {
    const stream = model.stream({ window: 3 });
    stream.push(frames[0]);
    assert.throws(() => stream.push(frames[1].slice(0, 4)), {
      name: 'SkelpruneError',
      message: 'frame 1: has 4 joints; the model expects 5',
    });
    assert.throws(() => stream.push(packed([frames[1]]).fill(Number.NaN, 4, 5)), {
      name: 'SkelpruneError',
      message: 'frame 1: holds a coordinate that is not a finite number',
    });
    assert.throws(
      () => stream.push([1, 2, 3]),
      /^SkelpruneError: frame 1: expected 15 coordinates, found 3$/,
    );
    assert.equal(stream.frames, 1);
    stream.push(frames[1]).push(frames[2]);
    assert.deepEqual(stream.predict(), model.predict(frames.slice(0, 3)));
    for (const options of [{ window: 1 }, { window: 4.5 }, { window: 4, minFrames: 5 }, { minFrames: 1 }]) {
      assert.throws(() => model.stream(options), SkelpruneError, JSON.stringify(options));
    }
  });
});
