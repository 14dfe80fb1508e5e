#include "gateway/auth/authenticator.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <fstream>
#include <stdexcept>

#include "codecs/io/file.hpp"

namespace countylink::auth {
namespace {

std::array<unsigned char, 32> sha256(std::string_view text) {
    std::array<unsigned char, 32> out{};
    unsigned len = 0;
    EVP_Digest(text.data(), text.size(), out.data(), &len, EVP_sha256(), nullptr);
    return out;
}

std::string random_token() {
    unsigned char bytes[32];
    if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("no randomness for token");
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 0xf];
    }
    return out;
}

}  // namespace

TokenAuthenticator::TokenAuthenticator(const std::vector<config::ApiToken>& tokens) {
    for (const auto& t : tokens) entries_.push_back({t.name, sha256(t.token)});
}

std::optional<Principal> TokenAuthenticator::authenticate(std::string_view authorization) const {
    constexpr std::string_view kScheme = "Bearer ";
    if (authorization.size() <= kScheme.size() || authorization.substr(0, 7) != kScheme) {
        return std::nullopt;
    }
    const auto digest = sha256(authorization.substr(kScheme.size()));
    std::optional<Principal> found;
    for (const auto& e : entries_) {  // every entry is compared: timing says nothing
        if (CRYPTO_memcmp(e.digest.data(), digest.data(), digest.size()) == 0) {
            found = Principal{e.name};
        }
    }
    return found;
}

std::vector<config::ApiToken> effective_tokens(const config::ApiSettings& api,
                                               const std::filesystem::path& data_dir,
                                               bool& created) {
    created = false;
    if (!api.tokens.empty()) return api.tokens;
    const auto file = data_dir / "admin.token";
    std::string token;
    if (std::ifstream in(file); in && std::getline(in, token) && !token.empty()) {
        return {{"admin", token}};
    }
    token = random_token();
    io::UniqueFd fd = io::open_file(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const std::string line = token + "\n";
    io::write_all(fd.get(), std::as_bytes(std::span(line.data(), line.size())));
    io::sync_fd(fd.get());
    created = true;
    return {{"admin", token}};
}

}  // namespace countylink::auth
