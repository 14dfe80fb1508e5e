#include "gateway/auth/authenticator.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "codecs/io/file.hpp"

namespace countylink::auth {
namespace {

using config::Role;

std::array<unsigned char, 32> sha256(std::string_view text) {
    std::array<unsigned char, 32> out{};
    unsigned len = 0;
    EVP_Digest(text.data(), text.size(), out.data(), &len, EVP_sha256(), nullptr);
    return out;
}

std::string hex(std::span<const unsigned char> bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 0xf];
    }
    return out;
}

std::optional<std::array<unsigned char, 32>> from_hex(std::string_view text) {
    if (text.size() != 64) return std::nullopt;
    std::array<unsigned char, 32> out{};
    for (std::size_t i = 0; i < 64; ++i) {
        const char c = text[i];
        int v = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (v < 0) return std::nullopt;
        out[i / 2] = static_cast<unsigned char>(out[i / 2] << 4 | v);
    }
    return out;
}

std::string random_token() {
    unsigned char bytes[32];
    if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("no randomness for token");
    return hex(bytes);
}

void write_private_file(const std::filesystem::path& file, const std::string& line) {
    io::UniqueFd fd = io::open_file(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    io::write_all(fd.get(), std::as_bytes(std::span(line.data(), line.size())));
    io::sync_fd(fd.get());
}

// "<hex> <name>" lines; blank lines and # comments skipped.
std::vector<TokenDigest> read_token_file(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) throw std::runtime_error("cannot read token file '" + file.string() + "'");
    std::vector<TokenDigest> out;
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        std::istringstream words(line);
        std::string digest, name, extra;
        if (!(words >> digest) || digest.starts_with('#')) continue;
        words >> name >> extra;
        const auto bytes = from_hex(digest);
        if (!bytes || name.empty() || !extra.empty()) {
            throw std::runtime_error(file.string() + ":" + std::to_string(number) +
                                     ": expected '<sha256 of the token, 64 hex digits> "
                                     "<principal name>'");
        }
        out.push_back({name, *bytes});
    }
    return out;
}

}  // namespace

bool Principal::allows(Access access) const {
    if (access == Access::open || access == Access::authenticated) return true;
    switch (role) {
        case Role::admin:
            return true;
        case Role::uploader:
            return access == Access::upload;
        case Role::reader:
            return access == Access::read || access == Access::queue_summary;
        case Role::ops:
            return access == Access::ops || access == Access::queue_summary;
    }
    return false;
}

bool Principal::reads_all_queues() const {
    return role == Role::admin || role == Role::ops;
}

bool Principal::reads_queue(std::string_view queue) const {
    if (reads_all_queues()) return true;
    if (role != Role::reader) return false;
    return std::find(queues.begin(), queues.end(), queue) != queues.end();
}

std::string token_digest_hex(std::string_view token) {
    return hex(sha256(token));
}

TokenAuthenticator::TokenAuthenticator(const config::Config& config,
                                       std::vector<TokenDigest> tokens)
    : config_(config), entries_(std::make_shared<const Tokens>(std::move(tokens))) {}

void TokenAuthenticator::replace(std::vector<TokenDigest> tokens) {
    auto fresh = std::make_shared<const Tokens>(std::move(tokens));
    std::lock_guard lock(mutex_);
    entries_.swap(fresh);
}

std::shared_ptr<const TokenAuthenticator::Tokens> TokenAuthenticator::tokens() const {
    std::lock_guard lock(mutex_);
    return entries_;
}

std::optional<Principal> TokenAuthenticator::principal(const std::string& name) const {
    Principal p;
    p.name = name;
    if (config_.api.principals.empty()) return p;  // configs before roles: admin tokens
    const config::Principal* found = config_.principal(name);
    // Undeclared, only the generated admin token's "admin" gets here (load_tokens checks files).
    if (!found) return name == "admin" ? std::optional<Principal>(p) : std::nullopt;
    p.role = found->role;
    p.township = found->township;
    p.queues = found->queues;
    return p;
}

std::optional<Principal> TokenAuthenticator::authenticate(std::string_view authorization) const {
    constexpr std::string_view kScheme = "Bearer ";
    if (authorization.size() <= kScheme.size() || authorization.substr(0, 7) != kScheme) {
        return std::nullopt;
    }
    const auto digest = sha256(authorization.substr(kScheme.size()));
    const TokenDigest* found = nullptr;
    const auto entries = tokens();
    for (const auto& e : *entries) {  // every entry is compared: timing says nothing
        if (CRYPTO_memcmp(e.digest.data(), digest.data(), digest.size()) == 0) found = &e;
    }
    if (!found) return std::nullopt;
    return principal(found->name);
}

std::optional<Principal> TokenAuthenticator::by_certificate(std::string_view common_name) const {
    // Only declared principals: a certificate from the CA alone grants nothing.
    if (common_name.empty() || !config_.principal(common_name)) return std::nullopt;
    return principal(std::string(common_name));
}

std::vector<TokenDigest> load_tokens(const config::Config& config,
                                     const std::filesystem::path& data_dir, bool& created) {
    created = false;
    std::vector<TokenDigest> out;
    for (const auto& t : config.api.tokens) out.push_back({t.name, sha256(t.token)});
    if (!config.api.token_file.empty()) {
        auto more = read_token_file(config.api.token_file);
        for (const auto& t : more) {
            if (!config.api.principals.empty() && !config.principal(t.name)) {
                throw std::runtime_error("token file '" + config.api.token_file +
                                         "': no principal '" + t.name + "' in [[api.principals]]");
            }
        }
        out.insert(out.end(), more.begin(), more.end());
    }
    if (!config.api.tokens.empty() || !config.api.token_file.empty()) return out;

    // First start with no tokens configured: one admin token, handed over in admin.token.
    const auto digest_file = data_dir / "admin.token.sha256";
    if (std::filesystem::exists(digest_file)) return read_token_file(digest_file);
    const auto token_file = data_dir / "admin.token";
    std::string token;
    if (std::ifstream in(token_file); !(in && std::getline(in, token) && !token.empty())) {
        token = random_token();
        write_private_file(token_file, token + "\n");
        created = true;
    }
    write_private_file(digest_file, token_digest_hex(token) + " admin\n");
    return {{"admin", sha256(token)}};
}

}  // namespace countylink::auth
