/**
 * `/dejavu config|stats|backfill|reports`: server settings, statistics, history indexing and "Not a repost"
 * reports (Manage Server), and the member-privacy subcommands (forget-me, forget, remember-me:
 * src/discord/privacy.ts).
 */
import {
  ApplicationIntegrationType,
  ChannelType,
  EmbedBuilder,
  InteractionContextType,
  MessageFlags,
  SlashCommandBuilder,
  TimestampStyles,
  time,
  type ChatInputCommandInteraction,
  type GuildBasedChannel,
  type GuildTextBasedChannel,
  type Message,
} from 'discord.js';
import type { GuildSettings, NoticeMode } from '../src/services/types.ts';
import { canReadHistory, progressText, type BackfillTotals } from '../src/discord/backfill.ts';
import { channelAndThreads, crawlableChannels } from '../src/discord/threads.ts';
import type { BotContext } from '../src/discord/context.ts';
import { describeForUser } from '../src/discord/errors.ts';
import { localizations, translate, type Translate } from '../src/discord/i18n.ts';
import { finishDeferred, interactionScope } from '../src/discord/interactions.ts';
import { canManageGuild } from '../src/discord/permissions.ts';
import { addModerationConfigOptions, addReportsSubcommand, moderationConfigPatch, moderationSettingsFields, reports } from './dejavu/moderation.ts';
import { addWaveOptions, waveField, wavePatch } from '../src/discord/waves-config.ts';
import { addPrivacySubcommands, executePrivacy, isPrivacySubcommand } from '../src/discord/privacy.ts';
import { addMediaOptions, mediaField, mediaPatch } from '../src/discord/media-config.ts';

const en = translate('en');
const key = (path: string) => `commands.dejavu.${path}`;
const named = <T extends { setName(name: string): T; setNameLocalizations(map: ReturnType<typeof localizations>): T; setDescription(text: string): T; setDescriptionLocalizations(map: ReturnType<typeof localizations>): T }>(
  builder: T,
  path: string,
  name?: string,
): T =>
  builder
    .setName(name ?? en(`${path}.name`))
    .setNameLocalizations(localizations(`${path}.name`))
    .setDescription(en(`${path}.description`))
    .setDescriptionLocalizations(localizations(`${path}.description`));

const TEXT_CHANNELS = [
  ChannelType.GuildText,
  ChannelType.GuildAnnouncement,
  ChannelType.GuildForum,
  ChannelType.GuildMedia,
  ChannelType.GuildVoice,
  ChannelType.PublicThread,
  ChannelType.AnnouncementThread,
] as const;
const NOTICE_MODES: readonly NoticeMode[] = ['reply', 'react', 'log', 'off'];
/** A week: longer leeways would silence reposts for good. */
const MAX_LEEWAY_MINUTES = 7 * 24 * 60;
/** Progress edits at most this often (Discord rate-limits message edits). */
const PROGRESS_EDIT_INTERVAL_MS = 3000;
/** Interaction tokens expire after 15 minutes; stop editing the reply a little before. */
const TOKEN_LIFETIME_MS = 14 * 60 * 1000;

const dejavu = named(new SlashCommandBuilder(), 'commands.dejavu', 'dejavu')
  .setContexts(InteractionContextType.Guild)
  .setIntegrationTypes(ApplicationIntegrationType.GuildInstall)
  // No default member permissions: every member may run forget-me and remember-me; the other subcommands
  // check Manage Server when they run (see execute).
  .addSubcommand((sub) =>
    // The duplicate-notice moderation options (templates, allowed-role) come from commands/dejavu/moderation.ts.
    addMediaOptions(addWaveOptions(addModerationConfigOptions(named(sub, key('config'), 'config')
      .addNumberOption((o) => named(o, key('config.options.threshold'), 'threshold').setMinValue(50).setMaxValue(100))
      .addStringOption((o) =>
        named(o, key('config.options.mode'), 'mode').addChoices(
          ...NOTICE_MODES.map((mode) => ({ name: en(key(`config.modes.${mode}`)), name_localizations: localizations(key(`config.modes.${mode}`)), value: mode })),
        ),
      )
      .addChannelOption((o) => named(o, key('config.options.log-channel'), 'log-channel').addChannelTypes(ChannelType.GuildText, ChannelType.GuildAnnouncement))
      .addIntegerOption((o) => named(o, key('config.options.leeway'), 'leeway').setMinValue(0).setMaxValue(MAX_LEEWAY_MINUTES))
      .addChannelOption((o) => named(o, key('config.options.ignore'), 'ignore').addChannelTypes(...TEXT_CHANNELS))
      .addChannelOption((o) => named(o, key('config.options.unignore'), 'unignore').addChannelTypes(...TEXT_CHANNELS))
      .addBooleanOption((o) => named(o, key('config.options.include-bots'), 'include-bots'))
      .addStringOption((o) => named(o, key('config.options.emoji'), 'emoji').setMaxLength(64))
      .addBooleanOption((o) => named(o, key('config.options.ephemeral'), 'ephemeral'))))),
  )
  .addSubcommand((sub) => named(sub, key('stats'), 'stats'))
  .addSubcommand((sub) => addReportsSubcommand(sub))
  .addSubcommand((sub) =>
    named(sub, key('backfill'), 'backfill').addChannelOption((o) => named(o, key('backfill.options.channel'), 'channel').addChannelTypes(...TEXT_CHANNELS)),
  );

export const data = addPrivacySubcommands(dejavu);

/**
 * A channel option's id, only if it is a channel of this guild. Reads the raw value when Discord sent no
 * resolved channel object, and never trusts an id from another guild.
 */
function channelOption(interaction: ChatInputCommandInteraction<'cached'>, name: string): GuildBasedChannel | null {
  const option = interaction.options.get(name);
  const id = option?.channel?.id ?? (typeof option?.value === 'string' ? option.value : null);
  return id ? (interaction.guild.channels.cache.get(id) ?? null) : null;
}

/** `<:name:id>` → the id; unicode emoji as typed. */
export function parseEmoji(text: string): string {
  const custom = /^<a?:\w+:(\d+)>$/.exec(text.trim());
  return custom?.[1] ?? text.trim();
}

function settingsEmbed(t: Translate, settings: GuildSettings): EmbedBuilder {
  const channelList = (ids: readonly string[]) => (ids.length > 0 ? ids.map((id) => `<#${id}>`).join(' ') : t('config.none'));
  const yesNo = (value: boolean) => (value ? t('config.yes') : t('config.no'));
  return new EmbedBuilder().setTitle(t('config.title')).addFields(
    { name: t('config.threshold'), value: settings.duplicateThreshold === null ? '—' : `${(settings.duplicateThreshold * 100).toFixed(1)}%`, inline: true },
    { name: t('config.mode'), value: settings.noticeMode, inline: true },
    { name: t('config.logChannel'), value: settings.logChannelId ? `<#${settings.logChannelId}>` : t('config.none'), inline: true },
    { name: t('config.leeway'), value: t('config.minutes', { count: Math.round(settings.sameAuthorLeewayMs / 60000) }), inline: true },
    { name: t('config.includeBots'), value: yesNo(settings.includeOtherBots), inline: true },
    { name: t('config.emoji'), value: /^\d+$/.test(settings.reactionEmoji) ? `<:e:${settings.reactionEmoji}>` : settings.reactionEmoji, inline: true },
    { name: t('config.ephemeral'), value: yesNo(settings.ephemeralReplies), inline: true },
    ...moderationSettingsFields(t, settings),
    { name: t('config.ignored'), value: channelList(settings.ignoredChannelIds) },
    mediaField(t, settings),
    waveField(t, settings),
  );
}

async function config(interaction: ChatInputCommandInteraction<'cached'>, context: BotContext, settings: GuildSettings, t: Translate): Promise<EmbedBuilder | string> {
  const options = interaction.options;
  const patch: Partial<GuildSettings> = {};
  const threshold = options.getNumber('threshold');
  if (threshold !== null) patch.duplicateThreshold = threshold / 100;
  const mode = options.getString('mode') as NoticeMode | null;
  if (mode !== null) patch.noticeMode = mode;
  const logChannel = channelOption(interaction, 'log-channel');
  if (logChannel) patch.logChannelId = logChannel.id;
  const leeway = options.getInteger('leeway');
  if (leeway !== null) patch.sameAuthorLeewayMs = leeway * 60_000;
  const ignored = new Set(settings.ignoredChannelIds);
  const ignore = channelOption(interaction, 'ignore');
  const unignore = channelOption(interaction, 'unignore');
  if (ignore) ignored.add(ignore.id);
  if (unignore) ignored.delete(unignore.id);
  if (ignore || unignore) patch.ignoredChannelIds = [...ignored];
  const includeBots = options.getBoolean('include-bots');
  if (includeBots !== null) patch.includeOtherBots = includeBots;
  const emoji = options.getString('emoji');
  if (emoji) patch.reactionEmoji = parseEmoji(emoji);
  const ephemeral = options.getBoolean('ephemeral');
  if (ephemeral !== null) patch.ephemeralReplies = ephemeral;
  Object.assign(patch, moderationConfigPatch(interaction));
  Object.assign(patch, wavePatch(options), mediaPatch(options));
  if (Object.keys(patch).length === 0) return settingsEmbed(t, settings);
  if ((patch.noticeMode ?? settings.noticeMode) === 'log' && !(patch.logChannelId ?? settings.logChannelId)) return t('config.logNeedsChannel');
  const updated = await context.services.settings.update(interaction.guildId, patch);
  context.log.info({ guildId: interaction.guildId, memberId: interaction.user.id, fields: Object.keys(patch) }, 'settings changed');
  return settingsEmbed(t, updated).setDescription(t('config.saved'));
}

async function stats(interaction: ChatInputCommandInteraction<'cached'>, context: BotContext, t: Translate): Promise<EmbedBuilder> {
  // One read of the store: services.stats already holds this guild's image count.
  const guildStats = await context.services.stats(interaction.guildId);
  const queue = guildStats.queue;
  return new EmbedBuilder().setTitle(t('stats.title')).addFields(
    { name: t('stats.images'), value: String(guildStats.imagesIndexed), inline: true },
    { name: t('stats.backend'), value: guildStats.backend, inline: true },
    { name: t('stats.queue'), value: `${queue.pending} + ${queue.running}`, inline: true },
    {
      name: t('stats.lastBackfill'),
      value: guildStats.lastBackfillAt === null ? t('stats.never') : time(Math.floor(guildStats.lastBackfillAt / 1000), TimestampStyles.RelativeTime),
      inline: true,
    },
    { name: t('stats.falsePositives'), value: String(guildStats.falsePositivesReported), inline: true },
  );
}

/**
 * Queues a backfill job per chosen channel (or every readable channel) and follows them one channel at a
 * time, editing one progress message. The jobs run wherever a worker is free (any shard, with REDIS_URL)
 * and survive this process: if it dies, they still finish; only the progress message stops.
 */
async function backfill(interaction: ChatInputCommandInteraction<'cached'>, context: BotContext, t: Translate): Promise<void> {
  const guild = interaction.guild;
  const chosen = channelOption(interaction, 'channel');
  const channels: GuildTextBasedChannel[] = (chosen ? await channelAndThreads(guild, chosen) : await crawlableChannels(guild)).filter((channel) => canReadHistory(guild, channel));
  const totals: BackfillTotals = { channelsDone: 0, channelsTotal: channels.length, messages: 0, images: 0, current: null, startedAt: Date.now() };
  let lastEdit = 0;
  // After the interaction token expires the reply can no longer be edited: progress moves to a channel message.
  let channelMessage: Message | null = null;
  const edit = async (done: boolean) => {
    lastEdit = Date.now();
    const content = progressText(t, totals, done);
    try {
      if (Date.now() - totals.startedAt < TOKEN_LIFETIME_MS) await interaction.editReply({ content });
      else if (channelMessage) await channelMessage.edit({ content });
      else if (interaction.channel?.isSendable()) channelMessage = await interaction.channel.send({ content });
    } catch (error) {
      context.log.warn({ guildId: guild.id, err: error }, 'progress edit failed');
    }
  };
  await interaction.editReply({ content: t('backfill.started') });
  const tickets = [];
  for (const channel of channels) tickets.push(await context.services.jobs.enqueue({ kind: 'backfill', guildId: guild.id, channelId: channel.id }));
  for (const ticket of tickets) {
    let base = { messages: totals.messages, images: totals.images };
    const result = await context.services.jobs.wait(ticket, (progress) => {
      totals.current = progress;
      totals.messages = base.messages + progress.scanned;
      totals.images = base.images + progress.indexed;
      if (Date.now() - lastEdit >= PROGRESS_EDIT_INTERVAL_MS) void edit(false);
    });
    totals.messages = base.messages + result.scanned;
    totals.images = base.images + result.indexed;
    base = { messages: totals.messages, images: totals.images };
    totals.channelsDone += 1;
    totals.current = null;
  }
  await edit(true);
}

export async function execute(interaction: ChatInputCommandInteraction, context: BotContext): Promise<void> {
  const scope = await interactionScope(interaction, context);
  if (!scope || !interaction.inCachedGuild()) return;
  const { settings, t } = scope;
  const subcommand = interaction.options.getSubcommand(true);
  if (isPrivacySubcommand(subcommand)) {
    await executePrivacy(interaction, context, subcommand, t);
    return;
  }
  // Everything else is for server managers (the command has no default member permissions, see data).
  if (!canManageGuild(scope.member, interaction.memberPermissions)) {
    await interaction.reply({ content: t('errors.manageGuild'), flags: MessageFlags.Ephemeral });
    return;
  }
  if (subcommand === 'backfill') {
    await interaction.deferReply();
    try {
      await backfill(interaction, context, t);
    } catch (error) {
      context.log.warn({ guildId: interaction.guildId, err: error }, 'backfill failed');
      await interaction.editReply({ content: t('backfill.failed', { reason: describeForUser(error, t) }) }).catch(() => undefined);
    }
    return;
  }
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  await finishDeferred(interaction, context, t, async () => {
    const result =
      subcommand === 'config' ? await config(interaction, context, settings, t) : subcommand === 'reports' ? await reports(interaction, context, t) : await stats(interaction, context, t);
    return typeof result === 'string' ? result : { embeds: [result], files: [], components: [] };
  });
}
