// The DICOM Conformance Statement (PS3.2 structure), generated from what the code accepts, so
// docs/conformance-statement.md cannot drift from the gateway (a test compares them).
#pragma once

#include <string>

#include "config/config.hpp"

namespace countylink::ctl {

// Markdown for `config` (the embedded default for the committed document).
std::string conformance_statement(const config::Config& config);

}  // namespace countylink::ctl
