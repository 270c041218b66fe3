/**
 * The users domain: profiles (display name, avatar, locale) and the public view others see.
 */
import { T, defineContract, withValidation, type Static } from "./kit";
import { DisplayName, IsoDateTime, Password, Uuid } from "./identity";

// BCP 47 language tags as phones report them: en, fr-FR, zh-Hant-TW.
const Locale = () => T.String({ pattern: "^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$", maxLength: 35 });
// Only https avatars: a client renders them, and http or javascript: URLs are a way in.
const AvatarUrl = () =>
	withValidation(T.Union([T.String({ format: "uri", maxLength: 2048 }), T.Null()]), {
		custom: (value, errors) => {
			if (typeof value === "string" && !value.startsWith("https://")) errors.push({ type: "urlHttps", message: "must be an https URL" });
			return value;
		},
	});

const Profile = T.Object(
	{
		id: Uuid(),
		displayName: T.String(),
		avatarUrl: T.Union([T.String({ format: "uri" }), T.Null()]),
		locale: T.String(),
		createdAt: IsoDateTime(),
		updatedAt: IsoDateTime(),
	},
	{ title: "Profile" },
);
const PublicProfile = T.Pick(Profile, ["id", "displayName", "avatarUrl"], { title: "PublicProfile" });
const UpdateProfile = T.Object({ displayName: T.Optional(DisplayName()), avatarUrl: T.Optional(AvatarUrl()), locale: T.Optional(Locale()) }, { additionalProperties: false });

/** A user changed their display name; the auth service keeps a copy for the account view. */
export const USER_RENAMED_CHANNEL = "users.renamed";

export const usersContract = defineContract({
	service: "users",
	description: "Profiles: the signed-in user's own, and the public view others see",
	actions: {
		createProfile: { params: T.Object({ userId: Uuid(), displayName: DisplayName(), locale: T.Optional(Locale()) }), result: Profile },
		me: { result: Profile },
		updateMe: { params: UpdateProfile, result: Profile },
		deleteMe: { params: T.Object({ password: Password() }, { additionalProperties: false }) },
		publicProfile: { params: T.Object({ id: Uuid() }), result: PublicProfile },
	},
	events: {
		"user.renamed": {
			description: "A user changed their display name.",
			payload: T.Object({ userId: Uuid(), displayName: T.String(), at: IsoDateTime() }),
		},
		"user.deleted": {
			description: "Personal data is gone by the time this is sent; listeners drop what they hold about the user.",
			payload: T.Object({ userId: Uuid(), at: IsoDateTime() }),
		},
	},
	channels: {
		[USER_RENAMED_CHANNEL]: {
			description: "A user changed their display name (the auth service keeps a copy for the account view).",
			payload: T.Object({ userId: Uuid(), displayName: T.String(), at: IsoDateTime() }),
			partitionKey: "userId",
		},
	},
});

export type Profile = Static<typeof Profile>;
export type PublicProfile = Static<typeof PublicProfile>;
export type UpdateProfileParams = Static<typeof UpdateProfile>;
export type UserRenamedMessage = Static<(typeof usersContract.channels)[typeof USER_RENAMED_CHANNEL]["payload"]>;
