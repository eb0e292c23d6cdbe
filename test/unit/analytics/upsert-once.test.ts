import { upsertOnce } from '../../../src/analytics/upsert-once';

const duplicate = () => Object.assign(new Error('E11000 duplicate key error'), { code: 11000 });

describe('upsertOnce: a guarded upsert under several workers', () => {
  test('when another worker inserted the document between the match and the insert, then the update is tried again and applied', async () => {
    const calls: string[] = [];
    await upsertOnce(async () => {
      calls.push(calls.length === 0 ? 'collided' : 'applied');
      if (calls.length === 1) throw duplicate();
    });
    expect(calls).toEqual(['collided', 'applied']);
  });

  test('when the document has the fact already, then the second collision means done, not an error', async () => {
    let calls = 0;
    await expect(
      upsertOnce(async () => {
        calls += 1;
        throw duplicate();
      }),
    ).resolves.toBeUndefined();
    expect(calls).toBe(2);
  });

  test('when the write fails otherwise, then the error is not hidden', async () => {
    await expect(upsertOnce(() => Promise.reject(new Error('connection lost')))).rejects.toThrow('connection lost');
  });
});
