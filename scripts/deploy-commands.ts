/**
 * `npm run deploy-commands`: registers the bot's application commands. With DISCORD_DEV_GUILD_ID they go to
 * that guild (instant, for development); without it they are registered globally.
 */
import { REST, Routes } from 'discord.js';
import { getConfig } from '../src/config.ts';
import { commandDefinitions } from '../src/discord/commands.ts';

const config = getConfig();
if (!config.DISCORD_TOKEN) throw new Error('DISCORD_TOKEN is not set');

const rest = new REST({ api: config.DISCORD_API_URL }).setToken(config.DISCORD_TOKEN);
const applicationId = config.DISCORD_APPLICATION_ID ?? ((await rest.get(Routes.currentApplication())) as { id: string }).id;
const body = commandDefinitions();
const route = config.DISCORD_DEV_GUILD_ID
  ? Routes.applicationGuildCommands(applicationId, config.DISCORD_DEV_GUILD_ID)
  : Routes.applicationCommands(applicationId);
const registered = (await rest.put(route, { body })) as Array<{ name: string }>;
console.log(
  `Registered ${registered.length} commands ${config.DISCORD_DEV_GUILD_ID ? `in guild ${config.DISCORD_DEV_GUILD_ID}` : 'globally'}: ${registered.map((command) => command.name).join(', ')}`,
);
