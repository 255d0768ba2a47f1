/** `/similar image|url|message [count] [scope]`: images of this server that look like the given one. */
import {
  ApplicationIntegrationType,
  InteractionContextType,
  MessageFlags,
  SlashCommandBuilder,
  type ChatInputCommandInteraction,
  type Message,
} from 'discord.js';
import type { BotContext } from '../src/discord/context.ts';
import { UserFacingError } from '../src/discord/errors.ts';
import { localizations, translate } from '../src/discord/i18n.ts';
import { isImageAttachment } from '../src/discord/images.ts';
import { finishDeferred, interactionScope } from '../src/discord/interactions.ts';
import { parseMessageReference } from '../src/discord/links.ts';
import { answerSimilar, DEFAULT_COUNT, type QueryInput } from '../src/discord/similar-search.ts';

const en = translate('en');
const key = (path: string) => `commands.similar.${path}`;

export const MAX_COUNT = 10;

export const data = new SlashCommandBuilder()
  .setName(en(key('name')))
  .setNameLocalizations(localizations(key('name')))
  .setDescription(en(key('description')))
  .setDescriptionLocalizations(localizations(key('description')))
  .setContexts(InteractionContextType.Guild)
  .setIntegrationTypes(ApplicationIntegrationType.GuildInstall)
  .addAttachmentOption((option) =>
    option.setName('image').setNameLocalizations(localizations(key('options.image.name')))
      .setDescription(en(key('options.image.description'))).setDescriptionLocalizations(localizations(key('options.image.description'))),
  )
  .addStringOption((option) =>
    option.setName('url').setNameLocalizations(localizations(key('options.url.name')))
      .setDescription(en(key('options.url.description'))).setDescriptionLocalizations(localizations(key('options.url.description')))
      .setMaxLength(2000),
  )
  .addStringOption((option) =>
    option.setName('message').setNameLocalizations(localizations(key('options.message.name')))
      .setDescription(en(key('options.message.description'))).setDescriptionLocalizations(localizations(key('options.message.description')))
      .setMaxLength(200),
  )
  .addIntegerOption((option) =>
    option.setName('count').setNameLocalizations(localizations(key('options.count.name')))
      .setDescription(en(key('options.count.description'))).setDescriptionLocalizations(localizations(key('options.count.description')))
      .setMinValue(1).setMaxValue(MAX_COUNT),
  )
  .addStringOption((option) =>
    option.setName('scope').setNameLocalizations(localizations(key('options.scope.name')))
      .setDescription(en(key('options.scope.description'))).setDescriptionLocalizations(localizations(key('options.scope.description')))
      .addChoices(
        { name: en(key('choices.server')), name_localizations: localizations(key('choices.server')), value: 'server' },
        { name: en(key('choices.channel')), name_localizations: localizations(key('choices.channel')), value: 'channel' },
      ),
  );

/** Option names as declared above; the parser below reads exactly these. */
type SimilarOptionName = 'image' | 'url' | 'message' | 'count' | 'scope';
const option = (name: SimilarOptionName) => name;

async function fetchReferencedMessage(interaction: ChatInputCommandInteraction<'cached'>, text: string): Promise<Message> {
  const reference = parseMessageReference(text);
  if (!reference || (reference.guildId !== undefined && reference.guildId !== interaction.guildId)) throw new UserFacingError('similar.messageNotFound');
  const channel = interaction.guild.channels.cache.get(reference.channelId ?? interaction.channelId);
  if (!channel?.isTextBased()) throw new UserFacingError('similar.messageNotFound');
  try {
    return await channel.messages.fetch(reference.messageId);
  } catch {
    throw new UserFacingError('similar.messageNotFound');
  }
}

async function queryInputOf(interaction: ChatInputCommandInteraction<'cached'>, context: BotContext): Promise<QueryInput> {
  const image = interaction.options.getAttachment(option('image'));
  if (image) {
    if (!isImageAttachment(image)) throw new UserFacingError('similar.noImage');
    return { kind: 'bytes', bytes: await context.services.download(image.url) };
  }
  const url = interaction.options.getString(option('url'));
  if (url) return { kind: 'url', url };
  const message = interaction.options.getString(option('message'));
  if (message) return { kind: 'message', message: await fetchReferencedMessage(interaction, message) };
  throw new UserFacingError('similar.noImage');
}

export async function execute(interaction: ChatInputCommandInteraction, context: BotContext): Promise<void> {
  const scope = await interactionScope(interaction, context);
  if (!scope || !interaction.inCachedGuild()) return;
  const { guild, member, channel, settings, t } = scope;
  // Download and embedding can exceed Discord's 3 s answer window: acknowledge first.
  await interaction.deferReply(settings.ephemeralReplies ? { flags: MessageFlags.Ephemeral } : {});
  await finishDeferred(interaction, context, t, async () =>
    answerSimilar(context, {
      guild,
      asker: member,
      replyChannel: channel,
      ephemeral: settings.ephemeralReplies,
      k: interaction.options.getInteger(option('count')) ?? DEFAULT_COUNT,
      ...(interaction.options.getString(option('scope')) === 'channel' ? { scopeChannelId: channel.id } : {}),
      input: await queryInputOf(interaction, context),
      t,
    }),
  );
}
