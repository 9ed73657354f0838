/**
 * Splits a REPL line into words the way a POSIX shell would for the common cases, so a line
 * reads like the one-shot command: whitespace separates words; '...' is literal; "..." keeps
 * spaces and honours \" and \\; a backslash outside quotes escapes the next character.
 */
export class TokenizeError extends Error {}

export function tokenize(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end === -1) throw new TokenizeError('unterminated single quote');
      word += line.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      i += 1;
      while (i < line.length && line[i] !== '"') {
        if (line[i] === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) i += 1;
        word += line[i];
        i += 1;
      }
      if (i >= line.length) throw new TokenizeError('unterminated double quote');
      inWord = true;
    } else if (c === '\\') {
      if (i + 1 >= line.length) throw new TokenizeError('a backslash ends the line');
      word += line[i + 1];
      inWord = true;
      i += 1;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}
