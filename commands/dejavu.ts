/**
 * `/dejavu config|stats|backfill|reports`: server settings, statistics, history indexing and "Not a repost"
 * reports (Manage Server), and the member-privacy subcommands (forget-me, forget, remember-me:
 * src/discord/privacy.ts).
 */
import {
  ApplicationCommandOptionType,
  ApplicationIntegrationType,
  ChannelType,
  EmbedBuilder,
  InteractionContextType,
  MessageFlags,
  SlashCommandBuilder,
  TimestampStyles,
  time,
  type ChatInputCommandInteraction,
  type Guild,
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
import { addSubcommands, readSubcommand, type OptionTable, type OptionValues, type SubcommandTable } from '../src/discord/options.ts';
import { canManageGuild } from '../src/discord/permissions.ts';
import { MODERATION_CONFIG_OPTIONS, moderationConfigPatch, moderationSettingsFields, REPORTS_OPTIONS, reports } from './dejavu/moderation.ts';
import { WAVE_OPTIONS, waveField, wavePatch } from '../src/discord/waves-config.ts';
import { executePrivacy, isPrivacyCall, PRIVACY_SUBCOMMANDS } from '../src/discord/privacy.ts';
import { MEDIA_OPTIONS, mediaField, mediaPatch } from '../src/discord/media-config.ts';

const en = translate('en');

const TEXT_CHANNELS = [
  ChannelType.GuildText,
  ChannelType.GuildAnnouncement,
  ChannelType.GuildForum,
  ChannelType.GuildMedia,
  ChannelType.GuildVoice,
  ChannelType.PublicThread,
  ChannelType.AnnouncementThread,
] as const;
const NOTICE_MODES = ['reply', 'react', 'log', 'off'] as const satisfies readonly NoticeMode[];
/** A week: longer leeways would silence reposts for good. */
const MAX_LEEWAY_MINUTES = 7 * 24 * 60;
/** Progress edits at most this often (Discord rate-limits message edits). */
const PROGRESS_EDIT_INTERVAL_MS = 3000;
/** Interaction tokens expire after 15 minutes; stop editing the reply a little before. */
const TOKEN_LIFETIME_MS = 14 * 60 * 1000;

/** `/dejavu config` options; the moderation, wave and media ones come from their own modules. */
const CONFIG_OPTIONS = {
  threshold: { type: ApplicationCommandOptionType.Number, minValue: 50, maxValue: 100 },
  mode: { type: ApplicationCommandOptionType.String, choices: NOTICE_MODES },
  'log-channel': { type: ApplicationCommandOptionType.Channel, channelTypes: [ChannelType.GuildText, ChannelType.GuildAnnouncement] },
  leeway: { type: ApplicationCommandOptionType.Integer, minValue: 0, maxValue: MAX_LEEWAY_MINUTES },
  ignore: { type: ApplicationCommandOptionType.Channel, channelTypes: TEXT_CHANNELS },
  unignore: { type: ApplicationCommandOptionType.Channel, channelTypes: TEXT_CHANNELS },
  'include-bots': { type: ApplicationCommandOptionType.Boolean },
  emoji: { type: ApplicationCommandOptionType.String, maxLength: 64 },
  ephemeral: { type: ApplicationCommandOptionType.Boolean },
  ...MODERATION_CONFIG_OPTIONS,
  ...WAVE_OPTIONS,
  ...MEDIA_OPTIONS,
} as const satisfies OptionTable;

/**
 * The subcommands, once: the builder below is made from this table and `execute` reads the subcommand and
 * its arguments with `readSubcommand(interaction, SUBCOMMANDS)`, typed from it (src/discord/options.ts).
 */
const SUBCOMMANDS = {
  config: CONFIG_OPTIONS,
  stats: {},
  reports: REPORTS_OPTIONS,
  backfill: { channel: { type: ApplicationCommandOptionType.Channel, channelTypes: TEXT_CHANNELS } },
  ...PRIVACY_SUBCOMMANDS,
} as const satisfies SubcommandTable;

type ConfigOptions = OptionValues<typeof CONFIG_OPTIONS>;

export const data = addSubcommands(
  new SlashCommandBuilder()
    .setName('dejavu')
    .setNameLocalizations(localizations('commands.dejavu.name'))
    .setDescription(en('commands.dejavu.description'))
    .setDescriptionLocalizations(localizations('commands.dejavu.description'))
    .setContexts(InteractionContextType.Guild)
    .setIntegrationTypes(ApplicationIntegrationType.GuildInstall),
  // No default member permissions: every member may run forget-me and remember-me; the other subcommands
  // check Manage Server when they run (see execute).
  SUBCOMMANDS,
  'commands.dejavu',
);

/** The channel of this guild a channel option named, if any: an id from another guild is never trusted. */
function guildChannel(guild: Guild, id: string | null): GuildBasedChannel | null {
  return id ? (guild.channels.cache.get(id) ?? null) : null;
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

async function config(interaction: ChatInputCommandInteraction<'cached'>, context: BotContext, settings: GuildSettings, t: Translate, options: ConfigOptions): Promise<EmbedBuilder | string> {
  const guild = interaction.guild;
  const patch: Partial<GuildSettings> = {};
  if (options.threshold !== null) patch.duplicateThreshold = options.threshold / 100;
  if (options.mode !== null) patch.noticeMode = options.mode;
  const logChannel = guildChannel(guild, options['log-channel']);
  if (logChannel) patch.logChannelId = logChannel.id;
  if (options.leeway !== null) patch.sameAuthorLeewayMs = options.leeway * 60_000;
  const ignored = new Set(settings.ignoredChannelIds);
  const ignore = guildChannel(guild, options.ignore);
  const unignore = guildChannel(guild, options.unignore);
  if (ignore) ignored.add(ignore.id);
  if (unignore) ignored.delete(unignore.id);
  if (ignore || unignore) patch.ignoredChannelIds = [...ignored];
  if (options['include-bots'] !== null) patch.includeOtherBots = options['include-bots'];
  if (options.emoji) patch.reactionEmoji = parseEmoji(options.emoji);
  if (options.ephemeral !== null) patch.ephemeralReplies = options.ephemeral;
  Object.assign(patch, moderationConfigPatch(interaction, options));
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
async function backfill(
  interaction: ChatInputCommandInteraction<'cached'>,
  context: BotContext,
  t: Translate,
  options: OptionValues<(typeof SUBCOMMANDS)['backfill']>,
): Promise<void> {
  const guild = interaction.guild;
  const chosen = guildChannel(guild, options.channel);
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
  const call = readSubcommand(interaction, SUBCOMMANDS);
  if (isPrivacyCall(call)) {
    await executePrivacy(interaction, context, call, t);
    return;
  }
  // Everything else is for server managers (the command has no default member permissions, see data).
  if (!canManageGuild(scope.member, interaction.memberPermissions)) {
    await interaction.reply({ content: t('errors.manageGuild'), flags: MessageFlags.Ephemeral });
    return;
  }
  if (call.name === 'backfill') {
    await interaction.deferReply();
    try {
      await backfill(interaction, context, t, call.options);
    } catch (error) {
      context.log.warn({ guildId: interaction.guildId, err: error }, 'backfill failed');
      await interaction.editReply({ content: t('backfill.failed', { reason: describeForUser(error, t) }) }).catch(() => undefined);
    }
    return;
  }
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  await finishDeferred(interaction, context, t, async () => {
    const result =
      call.name === 'config'
        ? await config(interaction, context, settings, t, call.options)
        : call.name === 'reports'
          ? await reports(interaction, context, t, call.options)
          : await stats(interaction, context, t);
    return typeof result === 'string' ? result : { embeds: [result], files: [], components: [] };
  });
}
