#pragma once

// Moved to jsonschema/json_util.h (generic JSON helpers, beside the JSON Schema engine). Kept so
// the edge agent's includes build until they name the new place.
#include "jsonschema/json_util.h"
