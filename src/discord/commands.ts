/**
 * The command registry: every application command the bot has, by name. `scripts/deploy-commands.ts`
 * registers `commandDefinitions()`, the interaction event looks handlers up with `findCommand`.
 */
import type {
  ChatInputCommandInteraction,
  MessageContextMenuCommandInteraction,
  RESTPostAPIApplicationCommandsJSONBody,
} from 'discord.js';
import * as dejavu from '../../commands/dejavu.ts';
import * as findSimilarImages from '../../commands/find-similar-images.ts';
import * as similar from '../../commands/similar.ts';
import type { BotContext } from './context.ts';

export interface ChatInputCommand {
  kind: 'chat-input';
  data: { name: string; toJSON(): RESTPostAPIApplicationCommandsJSONBody };
  execute(interaction: ChatInputCommandInteraction, context: BotContext): Promise<void>;
}

export interface MessageContextCommand {
  kind: 'message-context';
  data: { name: string; toJSON(): RESTPostAPIApplicationCommandsJSONBody };
  execute(interaction: MessageContextMenuCommandInteraction, context: BotContext): Promise<void>;
}

export type Command = ChatInputCommand | MessageContextCommand;

export const COMMANDS: readonly Command[] = [
  { kind: 'chat-input', data: similar.data, execute: similar.execute },
  { kind: 'chat-input', data: dejavu.data, execute: dejavu.execute },
  { kind: 'message-context', data: findSimilarImages.data, execute: findSimilarImages.execute },
];

export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((command) => command.data.name === name);
}

/** JSON bodies for `PUT /applications/{id}/commands` (or the guild route). */
export function commandDefinitions(): RESTPostAPIApplicationCommandsJSONBody[] {
  return COMMANDS.map((command) => command.data.toJSON());
}
