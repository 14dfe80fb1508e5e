// Who is calling the HTTP API and what they may do. Principals come from the config
// ([[api.principals]]); bearer tokens (kept only as SHA-256 digests) and client certificates
// (subject CN = principal name) map to them.
#pragma once

#include <array>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace countylink::auth {

// What an endpoint needs (declared per endpoint in gateway/http/access.cpp).
enum class Access {
    open,           // no credentials: health probes (and /metrics when public)
    authenticated,  // any principal (unknown API paths answer 404 only to one)
    upload,         // push objects: uploaders (for their township) and admins
    read,           // worklist items and instances, limited to a reader's queues
    queue_summary,  // queue depths without patient data: readers, ops, admins
    ops,            // metrics and operations: ops and admins
    admin           // quarantine and configuration: admins
};

struct Principal {
    std::string name;
    config::Role role = config::Role::admin;
    std::string township;             // uploader
    std::vector<std::string> queues;  // reader
    std::string certificate;          // subject of the client certificate it came with, if any

    // Whether the role grants `access` (admins: everything).
    bool allows(Access access) const;
    // Whether items and studies of `queue` are visible: all for ops and admin, a reader's own.
    bool reads_queue(std::string_view queue) const;
    bool reads_all_queues() const;
};

// SHA-256 of a token, as 64 lower-case hex digits (what token files hold).
std::string token_digest_hex(std::string_view token);

class Authenticator {
  public:
    virtual ~Authenticator() = default;
    // The principal for an Authorization header value ("Bearer <token>"), or nullopt.
    virtual std::optional<Principal> authenticate(std::string_view authorization) const = 0;
    // The principal a verified client certificate with this subject CN stands for, or nullopt.
    virtual std::optional<Principal> by_certificate(std::string_view common_name) const = 0;
};

// A token digest and the principal name it authenticates as.
struct TokenDigest {
    std::string name;
    std::array<unsigned char, 32> digest{};
};

// Bearer tokens as SHA-256 digests, compared in constant time.
class TokenAuthenticator final : public Authenticator {
  public:
    TokenAuthenticator(const config::Config& config, std::vector<TokenDigest> tokens);
    std::optional<Principal> authenticate(std::string_view authorization) const override;
    std::optional<Principal> by_certificate(std::string_view common_name) const override;

    // Accepts `tokens` from now on instead (SIGHUP: a token added or revoked without a
    // restart); a request being checked meanwhile finishes against the list it started with.
    void replace(std::vector<TokenDigest> tokens);

  private:
    using Tokens = std::vector<TokenDigest>;
    std::optional<Principal> principal(const std::string& name) const;
    std::shared_ptr<const Tokens> tokens() const;

    const config::Config& config_;
    mutable std::mutex mutex_;  // guards the pointer only; the list itself is never changed
    std::shared_ptr<const Tokens> entries_;
};

// The token digests to accept: api.tokens (hashed here), the lines of api.token_file
// ("<sha256 hex> <principal>"; # comments), and, when neither gives any, an "admin" token
// generated on first start into <data_dir>/admin.token (mode 0600, for the operator to pick
// up) whose digest is kept in <data_dir>/admin.token.sha256 and read from there afterwards.
// `created` tells the caller to say so in the log. Throws std::runtime_error for an unreadable
// or malformed token file (naming the line) or a token naming no principal.
std::vector<TokenDigest> load_tokens(const config::Config& config,
                                     const std::filesystem::path& data_dir, bool& created);

}  // namespace countylink::auth
