// The restricted security contexts every chart must render (charts/common
// _security.tpl), as tests expect them, for a given user/group id.

export function restrictedPodContext(id: number, fsGroup = id) {
  return {
    runAsNonRoot: true,
    runAsUser: id,
    runAsGroup: id,
    fsGroup,
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

export function restrictedContainerContext(id: number) {
  return {
    runAsNonRoot: true,
    runAsUser: id,
    runAsGroup: id,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    privileged: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}
