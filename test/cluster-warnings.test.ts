// Which lines of helm's stderr the cluster tests count as the API server's
// warnings. The line formats are client-go's (rest/warnings.go, tools/cache/
// reflector.go); the informer line is the one that once failed an upgrade test.
import { describe, expect, it } from 'vitest';
import { warningLines } from './helpers/cluster.ts';

const PSA = 'would violate PodSecurity "restricted:latest": runAsNonRoot != true';

describe('warningLines', () => {
  it('keeps the server warnings client-go logs, in the old and the new format, and warning-writer lines', () => {
    const stderr = [
      `W1203 17:48:17.842292   12650 warnings.go:70] ${PSA}`,
      `I1203 17:48:17.842292   12650 warnings.go:110] "Warning: ${PSA}"`,
      `Warning: ${PSA}`,
    ].join('\n');
    expect(warningLines(stderr)).toHaveLength(3);
  });

  it("drops client-side logs that only contain the word, such as the informer's cancelled watch", () => {
    const stderr = [
      'I1203 17:48:17.842292   12650 reflector.go:578] "Warning: watch ended with error" reflector="k8s.io/client-go@v0.35.1/tools/cache/reflector.go:289" type="/v1, Kind=Secret" err="context canceled"',
      'W1203 17:48:17.842292   12650 reflector.go:561] watch of *v1.Secret ended with: very short watch',
      'Release "techshop" has been upgraded. Happy Helming!',
      'walk.go:74: Warning: found symbolic link in path',
    ].join('\n');
    expect(warningLines(stderr)).toEqual([]);
  });
});
