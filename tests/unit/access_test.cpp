// Who may call what: the endpoint table and the roles behind it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "gateway/auth/authenticator.hpp"
#include "gateway/http/access.hpp"
#include "tests/support/temp_dir.hpp"

namespace countylink {
namespace {

using auth::Access;
using boost::beast::http::verb;
using config::Role;

auth::Principal principal(Role role, std::vector<std::string> queues = {}) {
    auth::Principal p;
    p.name = "p";
    p.role = role;
    p.queues = std::move(queues);
    return p;
}

TEST(Access, EveryEndpointDeclaresWhatItNeeds) {
    const config::HttpSettings http;  // public metrics by default
    const auto access = [&](verb m, std::string_view path) {
        return http::endpoint_for(m, path, http).access;
    };
    EXPECT_EQ(access(verb::get, "/healthz"), Access::open);
    EXPECT_EQ(access(verb::get, "/metrics"), Access::open);
    EXPECT_EQ(access(verb::post, "/dicomweb/studies"), Access::upload);
    EXPECT_EQ(access(verb::post, "/dicomweb/studies/1.2.3"), Access::upload);
    EXPECT_EQ(access(verb::get, "/dicomweb/studies/1.2.3/metadata"), Access::read);
    EXPECT_EQ(access(verb::head, "/api/v1/instances/1.2"), Access::read);
    EXPECT_EQ(access(verb::get, "/api/v1/queues"), Access::queue_summary);
    EXPECT_EQ(access(verb::get, "/api/v1/queues/ecg/items"), Access::read);
    EXPECT_EQ(access(verb::post, "/api/v1/items/7/claim"), Access::read);
    EXPECT_EQ(access(verb::get, "/api/v1/quarantine"), Access::admin);
    EXPECT_EQ(access(verb::get, "/api/v1/unknown"), Access::authenticated);
    EXPECT_EQ(access(verb::delete_, "/api/v1/quarantine"), Access::authenticated);
    EXPECT_EQ(access(verb::get, "/favicon.ico"), Access::open);

    config::HttpSettings closed;
    closed.public_metrics = false;
    EXPECT_EQ(http::endpoint_for(verb::get, "/metrics", closed).access, Access::ops);
    EXPECT_FALSE(http::endpoint_for(verb::get, "/metrics", closed).audited);

    const auto complete = http::endpoint_for(verb::post, "/api/v1/items/7/complete", http);
    EXPECT_EQ(complete.event, audit::EventType::complete);
    EXPECT_TRUE(complete.audited);
    EXPECT_EQ(http::endpoint_for(verb::post, "/api/v1/items/7/claim", http).event,
              audit::EventType::claim);
}

TEST(Access, RolesGrantTheirAccessOnly) {
    const auto uploader = principal(Role::uploader);
    const auto reader = principal(Role::reader, {"ecg"});
    const auto ops = principal(Role::ops);
    const auto admin = principal(Role::admin);
    for (const Access a :
         {Access::upload, Access::read, Access::queue_summary, Access::ops, Access::admin}) {
        EXPECT_EQ(uploader.allows(a), a == Access::upload);
        EXPECT_EQ(reader.allows(a), a == Access::read || a == Access::queue_summary);
        EXPECT_EQ(ops.allows(a), a == Access::ops || a == Access::queue_summary);
        EXPECT_TRUE(admin.allows(a));
    }
    EXPECT_TRUE(reader.reads_queue("ecg"));
    EXPECT_FALSE(reader.reads_queue("imaging"));
    EXPECT_FALSE(uploader.reads_queue("ecg"));
    EXPECT_TRUE(ops.reads_queue("anything"));
}

TEST(Tokens, FileHoldsDigestsAndTheGeneratedAdminTokenIsKeptOnlyHashed) {
    testing::TempDir tmp;
    config::Config config;
    config::Principal ops;
    ops.name = "ops-team";
    ops.role = Role::ops;
    config.api.principals.push_back(ops);

    // First start without tokens: admin.token for the operator, its digest for the server.
    bool created = false;
    auto tokens = auth::load_tokens(config, tmp.path(), created);
    EXPECT_TRUE(created);
    std::string token;
    std::getline(std::ifstream(tmp.path() / "admin.token"), token);
    std::string digest_line;
    std::getline(std::ifstream(tmp.path() / "admin.token.sha256"), digest_line);
    EXPECT_EQ(digest_line, auth::token_digest_hex(token) + " admin");
    EXPECT_EQ(digest_line.find(token), std::string::npos);
    // Once the operator removed admin.token, the digest alone still lets the token in.
    std::filesystem::remove(tmp.path() / "admin.token");
    tokens = auth::load_tokens(config, tmp.path(), created);
    EXPECT_FALSE(created);
    const auth::TokenAuthenticator admin_only(config, tokens);
    const auto who = admin_only.authenticate("Bearer " + token);
    ASSERT_TRUE(who);
    EXPECT_EQ(who->role, Role::admin);
    EXPECT_FALSE(admin_only.authenticate("Bearer " + token + "x"));

    // A token file: "<sha256> <principal>", comments allowed.
    const auto file = tmp.path() / "tokens";
    std::ofstream(file) << "# ops\n"
                        << auth::token_digest_hex("ops-secret-0123456789") << " ops-team\n";
    config.api.token_file = file.string();
    const auth::TokenAuthenticator from_file(config,
                                             auth::load_tokens(config, tmp.path(), created));
    const auto op = from_file.authenticate("Bearer ops-secret-0123456789");
    ASSERT_TRUE(op);
    EXPECT_EQ(op->name, "ops-team");
    EXPECT_EQ(op->role, Role::ops);
    EXPECT_FALSE(from_file.authenticate("Bearer " + token));  // the generated one is not used
    EXPECT_TRUE(from_file.by_certificate("ops-team"));
    EXPECT_FALSE(from_file.by_certificate("someone-else"));

    std::ofstream(file) << "abc ops-team\n";
    EXPECT_THROW(auth::load_tokens(config, tmp.path(), created), std::runtime_error);
    std::ofstream(file) << auth::token_digest_hex("x-0123456789abcdef") << " stranger\n";
    EXPECT_THROW(auth::load_tokens(config, tmp.path(), created), std::runtime_error);
}

}  // namespace
}  // namespace countylink
