package identity

// jsonType names a JSON Schema type a public field must have.
type jsonType string

const (
	typeObject  jsonType = "object"
	typeArray   jsonType = "array"
	typeString  jsonType = "string"
	typeBoolean jsonType = "boolean"
)

// accountExtraTypes and userExtraTypes are the types Kazoo's accounts.json
// and users.json give to the fields audian keeps in Extra without
// interpreting them. Checking the top-level type is cheap and catches the
// common client mistake (a string where an object belongs) before it is
// stored and served back to other clients that trust the schema.
var (
	accountExtraTypes = map[string]jsonType{
		"call_recording": typeObject, "call_restriction": typeObject, "call_waiting": typeObject,
		"caller_id": typeObject, "caller_id_options": typeObject, "dial_plan": typeObject,
		"do_not_disturb": typeObject, "flags": typeArray, "formatters": typeObject,
		"metaflows": typeObject, "music_on_hold": typeObject, "notifications": typeObject,
		"org": typeString, "preflow": typeObject, "ringtones": typeObject, "topup": typeObject,
		"voicemail": typeObject, "zones": typeObject,
	}
	userExtraTypes = map[string]jsonType{
		"call_forward": typeObject, "call_recording": typeObject, "call_restriction": typeObject,
		"call_waiting": typeObject, "caller_id": typeObject, "caller_id_options": typeObject,
		"contact_list": typeObject, "dial_plan": typeObject, "directories": typeObject,
		"do_not_disturb": typeObject, "feature_level": typeString, "flags": typeArray,
		"formatters": typeObject, "hotdesk": typeObject, "media": typeObject, "metaflows": typeObject,
		"music_on_hold": typeObject, "profile": typeObject, "pronounced_name": typeObject,
		"ringtones": typeObject, "verified": typeBoolean, "vm_to_email_enabled": typeBoolean,
		"voicemail": typeObject,
	}
)

// checkExtraTypes records a "type" violation for every schema field of
// extra whose value has the wrong JSON type. A null is the absence of the
// field, as a PATCH null is.
func checkExtraTypes(v Violations, extra map[string]any, types map[string]jsonType) {
	for k, want := range types {
		val, ok := extra[k]
		if !ok || val == nil {
			continue
		}
		var good bool
		switch want {
		case typeObject:
			_, good = val.(map[string]any)
		case typeArray:
			_, good = val.([]any)
		case typeString:
			_, good = val.(string)
		case typeBoolean:
			_, good = val.(bool)
		}
		if !good {
			v.Add(k, "type", Violation{Message: "Value did not match type(s): " + string(want)})
		}
	}
}
