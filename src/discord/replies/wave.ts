/** Text of a spam-wave alert: what was posted where and by whom, then what was done about it. */
import type { WaveSettings } from '../../services/types.ts';
import type { WaveAction, WaveActionOutcome, WaveState } from '../../services/waves.ts';
import { waveCounts } from '../../services/waves.ts';
import type { Translate } from '../i18n.ts';
import { discordTimestamp, messageLink } from '../links.ts';

/** Discord's limit on message content. */
const MAX_CONTENT = 2000;

function mentions(ids: readonly string[]): string {
  return [...new Set(ids)].map((id) => `<@${id}>`).join(' ');
}

/** One line per outcome group, e.g. "Deleted: 4 copies" or "Skipped (can manage messages): @mod". */
function actionLines(t: Translate, actions: readonly WaveAction[], settings: WaveSettings): string[] {
  const lines: string[] = [];
  const group = (kind: WaveAction['kind'], outcome: WaveActionOutcome) => actions.filter((action) => action.kind === kind && action.outcome === outcome);
  const deleted = group('delete', 'done').length;
  if (deleted > 0) lines.push(t('waves.alert.deleted', { count: deleted }));
  const wouldDelete = group('delete', 'dry-run').length;
  if (wouldDelete > 0) lines.push(t('waves.alert.wouldDelete', { count: wouldDelete }));
  const timedOut = group('timeout', 'done');
  if (timedOut.length > 0) lines.push(t('waves.alert.timedOut', { members: mentions(timedOut.map((a) => a.target)), minutes: settings.waveTimeoutMinutes }));
  const wouldTimeOut = group('timeout', 'dry-run');
  if (wouldTimeOut.length > 0) lines.push(t('waves.alert.wouldTimeOut', { members: mentions(wouldTimeOut.map((a) => a.target)), minutes: settings.waveTimeoutMinutes }));
  const moderators = actions.filter((action) => action.outcome === 'moderator').map((action) => action.authorId);
  if (moderators.length > 0) lines.push(t('waves.alert.skippedModerators', { members: mentions(moderators) }));
  const noPermission = actions.filter((action) => action.outcome === 'no-permission');
  if (noPermission.some((action) => action.kind === 'delete')) lines.push(t('waves.alert.cannotDelete', { count: noPermission.filter((a) => a.kind === 'delete').length }));
  const cannotTimeOut = noPermission.filter((action) => action.kind === 'timeout');
  if (cannotTimeOut.length > 0) lines.push(t('waves.alert.cannotTimeOut', { members: mentions(cannotTimeOut.map((a) => a.target)) }));
  const failed = actions.filter((action) => action.outcome === 'failed').length;
  if (failed > 0) lines.push(t('waves.alert.failed', { count: failed }));
  return lines;
}

/**
 * The alert: a header with the counts, one line per copy (link and author, oldest first) as far as the
 * 2000-character limit allows, then the actions.
 */
export function waveAlertText(t: Translate, wave: WaveState, settings: WaveSettings): string {
  const counts = waveCounts(wave, settings.waveWindowMinutes * 60_000);
  const copies = wave.posts.length + wave.morePosts;
  const header = t('waves.alert.header', { copies, channels: counts.channels, accounts: counts.accounts, since: discordTimestamp(wave.startedAt, 'R') });
  const deleted = new Set(wave.actions.filter((action) => action.kind === 'delete' && action.outcome === 'done').map((action) => action.target));
  const footer = actionLines(t, wave.actions, settings);
  const postLines = wave.posts.map((post) => {
    const link = messageLink({ guildId: wave.guildId, channelId: post.channelId, messageId: post.messageId });
    return `• ${link} · <@${post.authorId}> · <#${post.channelId}>${deleted.has(post.messageId) ? ` · ${t('waves.alert.gone')}` : ''}`;
  });
  const fixedLength = [header, ...footer].join('\n').length + 60;
  const shown: string[] = [];
  let length = fixedLength;
  for (const line of postLines) {
    if (length + line.length + 1 > MAX_CONTENT) break;
    shown.push(line);
    length += line.length + 1;
  }
  const hidden = copies - shown.length;
  const more = hidden > 0 ? [t('waves.alert.more', { count: hidden })] : [];
  return [header, ...shown, ...more, ...footer].join('\n').slice(0, MAX_CONTENT);
}
