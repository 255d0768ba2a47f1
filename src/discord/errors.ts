/** Maps any thrown value to a message a user can read, in their language. Expected failures are typed. */
import { isDejavuError } from '../errors.ts';
import type { Translate } from './i18n.ts';

export function userMessageFor(error: unknown, t: Translate): string {
  if (!isDejavuError(error)) return t('errors.internal');
  switch (error.code) {
    case 'HOST_NOT_ALLOWED':
      return t('errors.hostNotAllowed');
    case 'DOWNLOAD_FAILED':
    case 'DOWNLOAD_TIMEOUT':
    case 'DOWNLOAD_TOO_LARGE':
      return t('errors.download');
    case 'IMAGE_EMPTY':
    case 'IMAGE_TOO_LARGE':
    case 'IMAGE_TOO_MANY_PIXELS':
    case 'IMAGE_UNSUPPORTED':
    case 'IMAGE_CORRUPT':
    case 'IMAGE_DECODE_TIMEOUT':
      return t('errors.badImage', { code: error.code });
    case 'QUEUE_FULL':
      return t('errors.queueFull');
    case 'NOT_FOUND':
      return t('similar.messageNotFound');
    case 'INVALID_INPUT':
      // The detail names the field (developer words); the sentence around it is the member's language.
      return t('errors.invalidInput', { detail: error.message });
    case 'LOCKED':
      return t('errors.busyElsewhere');
    case 'JOB_FAILED':
      return t('errors.jobFailed');
    case 'EMBEDDER_UNAVAILABLE':
      return t('errors.embedderUnavailable');
    default:
      return t('errors.internal');
  }
}

/** An expected, user-facing refusal (no image given, message not found): a value, not a bug. */
export class UserFacingError extends Error {
  override readonly name = 'UserFacingError';
  constructor(readonly translationKey: string, readonly values: Record<string, unknown> = {}) {
    super(translationKey);
  }
}

export function describeForUser(error: unknown, t: Translate): string {
  return error instanceof UserFacingError ? t(error.translationKey, error.values) : userMessageFor(error, t);
}
