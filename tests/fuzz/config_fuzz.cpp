// The config parser: any text gives a Config or a ConfigError, and a Config it accepts passes
// validate() (what the server checks again after edits).
#include <string>

#include "config/config.hpp"
#include "tests/fuzz/targets.hpp"

namespace countylink::fuzz {

int config(std::span<const std::byte> input) {
    const std::string text(reinterpret_cast<const char*>(input.data()), input.size());
    try {
        const auto parsed = config::parse_toml(text, "fuzz");
        config::validate(parsed);
    } catch (const config::ConfigError&) {
        // expected: the server refuses to start and names the key
    }
    return 0;
}

}  // namespace countylink::fuzz
