/** A plain object (`{…}`, JSON's objects, Object.create(null)): not an array, a Date, a Buffer or a class instance. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
	if (value === null || typeof value !== "object") return false;
	const proto = Object.getPrototypeOf(value);
	return proto === Object.prototype || proto === null;
}
