import { EventEmitter } from "node:events";
import { rejectionOf } from "../../test/support/async";
import { PromptCancelled, promptHidden, stopOnKeyPress, type TerminalInput } from "./terminal-input";

/** A terminal whose line editor, like readline, listens for 'keypress' events. */
function fakeTerminal() {
	const input = Object.assign(new EventEmitter(), {
		isTTY: true,
		isRaw: false,
		setRawMode(mode: boolean) {
			input.isRaw = mode;
		},
	}) as TerminalInput & { isRaw: boolean };
	const edited: string[] = [];
	input.on("keypress", (key: string) => edited.push(key));
	// As emitKeypressEvents does: each chunk of data becomes keypresses for whoever listens.
	input.on("data", (chunk: string) => input.emit("keypress", chunk));
	const written: string[] = [];
	return { input, edited, output: { write: (text: string) => written.push(text) }, written };
}

it("stops a follow on the first key without that key reaching the line editor, then gives the keys back", () => {
	const { input, edited } = fakeTerminal();
	const controller = new AbortController();
	const release = stopOnKeyPress(controller, input);
	input.emit("data", "q");
	expect(controller.signal.aborted).toBe(true);
	expect(edited).toEqual([]);
	release();
	expect(input.isRaw).toBe(false);
	input.emit("data", "x");
	expect(edited).toEqual(["x"]);
});

it("does nothing when stdin is not a terminal", () => {
	const { input } = fakeTerminal();
	input.isTTY = false;
	const controller = new AbortController();
	stopOnKeyPress(controller, input)();
	input.emit("data", "q");
	expect(controller.signal.aborted).toBe(false);
});

it("reads a password without echo or history, with backspace, and hands the keys back", async () => {
	const { input, edited, output, written } = fakeTerminal();
	const typed = promptHidden("Password: ", input, output);
	input.emit("data", "sekrit");
	input.emit("data", "\u007f\u007fet pass\r");
	expect(await typed).toBe("sekret pass");
	expect(edited).toEqual([]);
	expect(written.join("")).toBe("Password: \n");
	input.emit("data", "after");
	expect(edited).toEqual(["after"]);
});

it("cancels on Ctrl+C, and refuses to read a password from a pipe", async () => {
	const { input, output } = fakeTerminal();
	const typed = promptHidden("Password: ", input, output);
	input.emit("data", "abc\u0003");
	expect(await rejectionOf(typed)).toBeInstanceOf(PromptCancelled);
	input.isTTY = false;
	expect(await rejectionOf(promptHidden("Password: ", input, output))).toMatchObject({ message: "a password can only be typed at a terminal" });
});
