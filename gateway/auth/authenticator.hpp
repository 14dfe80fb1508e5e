// Who is calling the HTTP API. One seam: today bearer tokens from the config (or a generated
// admin token); roles and client certificates come later behind the same interface.
#pragma once

#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace countylink::auth {

struct Principal {
    std::string name;
};

class Authenticator {
  public:
    virtual ~Authenticator() = default;
    // The principal for an Authorization header value ("Bearer <token>"), or nullopt.
    virtual std::optional<Principal> authenticate(std::string_view authorization) const = 0;
};

// Bearer tokens, kept only as SHA-256 digests and compared in constant time.
class TokenAuthenticator final : public Authenticator {
  public:
    explicit TokenAuthenticator(const std::vector<config::ApiToken>& tokens);
    std::optional<Principal> authenticate(std::string_view authorization) const override;

  private:
    struct Entry {
        std::string name;
        std::array<unsigned char, 32> digest;
    };
    std::vector<Entry> entries_;
};

// The tokens to accept: the configured ones, or, when none are configured, an "admin" token
// read from <data_dir>/admin.token, created there (mode 0600) on first start. `created` tells
// the caller to say so in the log.
std::vector<config::ApiToken> effective_tokens(const config::ApiSettings& api,
                                               const std::filesystem::path& data_dir,
                                               bool& created);

}  // namespace countylink::auth
