#include "options.hpp"

#include <array>
#include <utility>

namespace countylink::synth {

namespace {

constexpr std::array<std::pair<std::string_view, Kind>, 6> kKindNames{{
    {"ct", Kind::ct},
    {"dx", Kind::dx},
    {"cr", Kind::cr},
    {"us", Kind::us},
    {"ecg", Kind::ecg},
    {"mf", Kind::mf},
}};

}  // namespace

std::optional<Kind> parse_kind(std::string_view text) {
    for (const auto& [name, kind] : kKindNames) {
        if (name == text) return kind;
    }
    return std::nullopt;
}

std::string_view kind_name(Kind kind) {
    for (const auto& [name, k] : kKindNames) {
        if (k == kind) return name;
    }
    return "unknown";
}

std::uint32_t default_studies(Kind kind, std::uint32_t count) {
    switch (kind) {
        case Kind::dx:
        case Kind::cr:
        case Kind::ecg:
            return count;
        case Kind::ct:
        case Kind::us:
        case Kind::mf:
            break;
    }
    return 1;
}

}  // namespace countylink::synth
