/**
 * Keys an operator types while one of our REPL commands runs. The REPL's line editor (readline)
 * reads the same stdin through 'keypress' events, so whatever a command reads must be taken away
 * from it for the duration: otherwise the key that stops `audit-follow` lands on the next prompt,
 * and a typed password is echoed and kept in the REPL history.
 */
import type { EventEmitter } from "node:events";

export interface TerminalInput extends EventEmitter {
	isTTY?: boolean;
	setRawMode?(mode: boolean): unknown;
	isRaw?: boolean;
}

interface Output {
	write(text: string): unknown;
}

type Listener = (...args: unknown[]) => void;

/** Takes the keys from the line editor until the returned function gives them back. */
export function takeKeys(input: TerminalInput): () => void {
	const editors = input.listeners("keypress") as Listener[];
	input.removeAllListeners("keypress");
	const wasRaw = input.isRaw;
	input.setRawMode?.(true);
	let restored = false;
	return () => {
		if (restored) return;
		restored = true;
		if (wasRaw === false) input.setRawMode?.(false);
		for (const listener of editors) input.on("keypress", listener);
	};
}

/** Aborts `controller` on the first key, which goes nowhere else; nothing happens when `input` is not a terminal. */
export function stopOnKeyPress(controller: AbortController, input: TerminalInput = process.stdin): () => void {
	if (!input.isTTY) return () => undefined;
	const giveBack = takeKeys(input);
	const onData = () => controller.abort();
	input.once("data", onData);
	return () => {
		input.off("data", onData);
		giveBack();
	};
}

export class PromptCancelled extends Error {
	constructor() {
		super("cancelled");
		this.name = "PromptCancelled";
	}
}

/**
 * Reads a line without echoing it (Enter ends it, Backspace erases, Ctrl+C or Esc cancels). Refuses
 * when `input` is not a terminal, rather than read a secret from a pipe that may be a log.
 */
export function promptHidden(question: string, input: TerminalInput = process.stdin, output: Output = process.stdout): Promise<string> {
	if (!input.isTTY) return Promise.reject(new Error("a password can only be typed at a terminal"));
	output.write(question);
	const giveBack = takeKeys(input);
	return new Promise<string>((resolve, reject) => {
		let typed = "";
		const finish = (error?: Error) => {
			input.off("data", onData);
			giveBack();
			output.write("\n");
			if (error) reject(error);
			else resolve(typed);
		};
		const onData = (chunk: Buffer | string) => {
			for (const char of chunk.toString("utf8")) {
				if (char === "\r" || char === "\n") return finish();
				if (char === "\u0003" || char === "\u001b") return finish(new PromptCancelled());
				if (char === "\u007f" || char === "\b") typed = [...typed].slice(0, -1).join("");
				else if (char >= " ") typed += char;
			}
		};
		input.on("data", onData);
	});
}
