import { expect } from 'chai';
import {
  type Condition,
  findCondition,
  formatTime,
  isFalse,
  isTrue,
  jsonEqual,
  removeCondition,
  setCondition,
  statusNeedsPatch,
} from './conditions.ts';

const t0 = Date.UTC(2025, 0, 1, 0, 0, 0, 123);
const t1 = Date.UTC(2025, 0, 1, 0, 5, 0);

describe('conditions', () => {
  context('when the condition is new', () => {
    it('should add it with lastTransitionTime now (whole seconds) and report a change', () => {
      const { conditions, changed } = setCondition(
        undefined,
        { type: 'Ready', status: 'False', reason: 'Waiting', message: 'm', observedGeneration: 2 },
        t0,
      );
      expect(changed).to.equal(true);
      expect(conditions).to.deep.equal([
        {
          type: 'Ready',
          status: 'False',
          reason: 'Waiting',
          message: 'm',
          observedGeneration: 2,
          lastTransitionTime: '2025-01-01T00:00:00Z',
        },
      ]);
    });
  });

  context('when the condition exists', () => {
    const base: Condition[] = [
      { type: 'Ready', status: 'False', reason: 'Waiting', message: 'm', lastTransitionTime: formatTime(t0) },
      { type: 'Other', status: 'True', reason: 'X', message: '', lastTransitionTime: formatTime(t0) },
    ];

    it('should report no change and not touch the time when nothing differs', () => {
      const { conditions, changed } = setCondition(
        base,
        { type: 'Ready', status: 'False', reason: 'Waiting', message: 'm' },
        t1,
      );
      expect(changed).to.equal(false);
      expect(conditions).to.deep.equal(base);
    });

    it('should keep lastTransitionTime when only reason or message change', () => {
      const { conditions, changed } = setCondition(
        base,
        { type: 'Ready', status: 'False', reason: 'StillWaiting', message: 'n', observedGeneration: 3 },
        t1,
      );
      expect(changed).to.equal(true);
      expect(findCondition(conditions, 'Ready')).to.deep.include({
        reason: 'StillWaiting',
        message: 'n',
        observedGeneration: 3,
        lastTransitionTime: formatTime(t0),
      });
    });

    it('should move lastTransitionTime when the status flips, and not mutate the input', () => {
      const { conditions, changed } = setCondition(
        base,
        { type: 'Ready', status: 'True', reason: 'Done', message: '' },
        t1,
      );
      expect(changed).to.equal(true);
      expect(findCondition(conditions, 'Ready')?.lastTransitionTime).to.equal('2025-01-01T00:05:00Z');
      expect(base[0]!.status).to.equal('False');
      expect(isTrue(conditions, 'Ready')).to.equal(true);
      expect(isFalse(conditions, 'Ready')).to.equal(false);
      expect(conditions.map((c) => c.type)).to.deep.equal(['Ready', 'Other']);
    });

    it('should remove a condition and report whether it was there', () => {
      expect(removeCondition(base, 'Ready')).to.deep.equal({ conditions: [base[1]], changed: true });
      expect(removeCondition(base, 'Missing').changed).to.equal(false);
    });
  });

  it('should treat a missing condition as neither true nor false', () => {
    expect(isTrue(undefined, 'Ready')).to.equal(false);
    expect(isFalse([], 'Ready')).to.equal(false);
  });

  describe('statusNeedsPatch', () => {
    it('should ignore key order and undefined fields', () => {
      expect(statusNeedsPatch({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1, d: undefined })).to.equal(
        false,
      );
      expect(statusNeedsPatch(undefined, {})).to.equal(false);
    });

    it('should detect any changed value, including array order', () => {
      expect(statusNeedsPatch({ a: 1 }, { a: 2 })).to.equal(true);
      expect(statusNeedsPatch({ c: [1, 2] }, { c: [2, 1] })).to.equal(true);
      expect(statusNeedsPatch({}, { phase: 'Done' })).to.equal(true);
      expect(jsonEqual({ x: { y: 1 } }, { x: { y: 1, z: 0 } })).to.equal(false);
    });
  });
});
