'use strict';
/** Greets a customer by name, in the shop's default language unless asked otherwise. */
const GREETINGS = { en: 'Hello', ja: 'こんにちは', de: 'Hallo' };

exports.handler = async (event, context) => {
  const { name = 'guest', lang = process.env.DEFAULT_LANG || 'en' } = event ?? {};
  const greeting = GREETINGS[lang] ?? GREETINGS.en;
  context.logger.info('greeted', { lang });
  return { message: `${greeting}, ${name}!` };
};
