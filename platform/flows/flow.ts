/**
 * A use case made of named steps, each with the way to undo it: when a step fails, the steps done
 * before it are compensated, newest first, and the step's own error goes to the caller unchanged
 * (an expected outcome such as an empty stock stays a 409). Steps that span services cannot share a
 * transaction; this is what keeps them from leaving half a change behind. A compensation that
 * fails is reported (and the others still run): what it should have undone needs an operator.
 */
export interface FlowStep<C> {
	name: string;
	run(context: C): Promise<void>;
	/** Undoes `run` once it succeeded; steps with nothing to undo leave it out. */
	compensate?(context: C): Promise<void>;
}

export interface FlowHooks {
	/** A compensation threw: its step's effect stays, for an operator to see to. */
	compensationFailed?(flow: string, step: string, error: unknown): void;
}

/** Runs `steps` in order on `context`; resolves it once every step is done. */
export async function runFlow<C>(flow: string, steps: ReadonlyArray<FlowStep<C>>, context: C, hooks: FlowHooks = {}): Promise<C> {
	const done: Array<FlowStep<C>> = [];
	for (const step of steps) {
		try {
			await step.run(context);
		} catch (err) {
			for (const earlier of done.reverse()) {
				if (!earlier.compensate) continue;
				try {
					await earlier.compensate(context);
				} catch (compensationError) {
					hooks.compensationFailed?.(flow, earlier.name, compensationError);
				}
			}
			throw err;
		}
		done.push(step);
	}
	return context;
}
