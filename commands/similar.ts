/** `/similar image|url|message [count] [scope]`: images of this server that look like the given one. */
import {
  ApplicationCommandOptionType,
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
import { addOptions, readOptions, type OptionTable, type OptionValues } from '../src/discord/options.ts';
import { answerSimilar, DEFAULT_COUNT, type QueryInput } from '../src/discord/similar-search.ts';

const en = translate('en');
const key = (path: string) => `commands.similar.${path}`;

export const MAX_COUNT = 10;

/**
 * The options, once: the builder below is made from this table and `execute` reads its arguments with
 * `readOptions(interaction, OPTIONS)`, whose type comes from it (src/discord/options.ts).
 */
const OPTIONS = {
  image: { type: ApplicationCommandOptionType.Attachment },
  url: { type: ApplicationCommandOptionType.String, maxLength: 2000 },
  message: { type: ApplicationCommandOptionType.String, maxLength: 200 },
  count: { type: ApplicationCommandOptionType.Integer, minValue: 1, maxValue: MAX_COUNT },
  scope: { type: ApplicationCommandOptionType.String, choices: ['server', 'channel'] },
} as const satisfies OptionTable;

type SimilarOptions = OptionValues<typeof OPTIONS>;

export const data = addOptions(
  new SlashCommandBuilder()
    .setName(en(key('name')))
    .setNameLocalizations(localizations(key('name')))
    .setDescription(en(key('description')))
    .setDescriptionLocalizations(localizations(key('description')))
    .setContexts(InteractionContextType.Guild)
    .setIntegrationTypes(ApplicationIntegrationType.GuildInstall),
  OPTIONS,
  'commands.similar',
);

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

async function queryInputOf(interaction: ChatInputCommandInteraction<'cached'>, options: SimilarOptions, context: BotContext): Promise<QueryInput> {
  const { image, url, message } = options;
  if (image) {
    if (!isImageAttachment(image)) throw new UserFacingError('similar.noImage');
    return { kind: 'bytes', bytes: await context.services.download(image.url) };
  }
  if (url) return { kind: 'url', url };
  if (message) return { kind: 'message', message: await fetchReferencedMessage(interaction, message) };
  throw new UserFacingError('similar.noImage');
}

export async function execute(interaction: ChatInputCommandInteraction, context: BotContext): Promise<void> {
  const scope = await interactionScope(interaction, context);
  if (!scope || !interaction.inCachedGuild()) return;
  const { guild, member, channel, settings, t } = scope;
  const options = readOptions(interaction, OPTIONS);
  // Download and embedding can exceed Discord's 3 s answer window: acknowledge first.
  await interaction.deferReply(settings.ephemeralReplies ? { flags: MessageFlags.Ephemeral } : {});
  await finishDeferred(interaction, context, t, async () =>
    answerSimilar(context, {
      guild,
      asker: member,
      replyChannel: channel,
      ephemeral: settings.ephemeralReplies,
      k: options.count ?? DEFAULT_COUNT,
      ...(options.scope === 'channel' ? { scopeChannelId: channel.id } : {}),
      input: await queryInputOf(interaction, options, context),
      t,
    }),
  );
}
