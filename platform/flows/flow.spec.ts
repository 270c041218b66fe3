import { AppError, isAppError } from "../errors/app-error";
import { runFlow, type FlowStep } from "./flow";

interface Trace {
	log: string[];
}

const step = (name: string, options: { fails?: unknown; compensationFails?: boolean; undoable?: boolean } = {}): FlowStep<Trace> => ({
	name,
	async run(context) {
		if (options.fails) throw options.fails;
		context.log.push(`${name}`);
	},
	...(options.undoable === false
		? {}
		: {
				async compensate(context: Trace) {
					if (options.compensationFails) throw new Error(`${name} cannot be undone`);
					context.log.push(`undo ${name}`);
				},
			}),
});

describe("runFlow", () => {
	it("runs every step in order when none fails", async () => {
		const trace = await runFlow("claim", [step("reserve"), step("issue"), step("notify")], { log: [] });
		expect(trace.log).toEqual(["reserve", "issue", "notify"]);
	});

	it("undoes the steps done before the one that failed, newest first, and passes its error on unchanged", async () => {
		const exhausted = new AppError("REWARD_EXHAUSTED");
		const trace: Trace = { log: [] };
		const failure = await runFlow("claim", [step("check"), step("reserve"), step("issue", { fails: exhausted }), step("notify")], trace).catch(err => err);
		expect(failure).toBe(exhausted);
		expect(isAppError(failure, "REWARD_EXHAUSTED")).toBe(true);
		expect(trace.log).toEqual(["check", "reserve", "undo reserve", "undo check"]);
	});

	it("skips steps with nothing to undo, and reports a compensation that failed without stopping the others", async () => {
		const failed: Array<{ flow: string; step: string; message: string }> = [];
		const trace: Trace = { log: [] };
		const failure = await runFlow("claim", [step("reserve"), step("check", { undoable: false }), step("issue", { compensationFails: true }), step("notify", { fails: new Error("down") })], trace, {
			compensationFailed: (flow, name, error) => failed.push({ flow, step: name, message: (error as Error).message }),
		}).catch(err => err);
		expect((failure as Error).message).toBe("down");
		expect(trace.log).toEqual(["reserve", "check", "issue", "undo reserve"]);
		expect(failed).toEqual([{ flow: "claim", step: "issue", message: "issue cannot be undone" }]);
	});
});
