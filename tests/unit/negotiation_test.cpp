// Association negotiation as the SCP: which township equipment gets in, which presentation
// contexts are accepted and with which transfer syntax, and the PS3.8 reject/result codes the
// equipment sees otherwise.
#include "gateway/dicom/negotiation.hpp"

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "config/config.hpp"

namespace countylink::dicom {
namespace {

constexpr std::string_view kAppContext = "1.2.840.10008.3.1.1.1";
constexpr std::string_view kVerification = "1.2.840.10008.1.1";
constexpr std::string_view kCtImageStorage = "1.2.840.10008.5.1.4.1.1.2";
constexpr std::string_view kTwelveLeadEcg = "1.2.840.10008.5.1.4.1.1.9.1.1";
constexpr std::string_view kImplicitLe = "1.2.840.10008.1.2";
constexpr std::string_view kExplicitLe = "1.2.840.10008.1.2.1";
constexpr std::string_view kJpegLossless = "1.2.840.10008.1.2.4.70";

AssociateRq request(std::vector<PresentationContextRq> contexts) {
    AssociateRq rq;
    rq.called_ae = "COUNTYLINK";
    rq.calling_ae = "CT_TOWN01";
    rq.application_context = std::string(kAppContext);
    rq.contexts = std::move(contexts);
    rq.user.max_pdu_length = 16384;
    rq.user.implementation_class_uid = "1.2.276.0.7230010.3.0.3.6.7";
    return rq;
}

PresentationContextRq context(uint8_t id, std::string_view abstract_syntax,
                              std::vector<std::string_view> transfer_syntaxes) {
    PresentationContextRq pc;
    pc.id = id;
    pc.abstract_syntax = std::string(abstract_syntax);
    for (auto ts : transfer_syntaxes) pc.transfer_syntaxes.emplace_back(ts);
    return pc;
}

config::Config county_config() {
    config::Config config = config::embedded_default();
    config.townships.push_back({"Dongxiang", {"CT_TOWN01", "ECG_TOWN01"}});
    config.townships.push_back({"Xiying", {"US_TOWN02"}});
    return config;
}

Accepted expect_accepted(const std::variant<Accepted, Rejected>& result) {
    if (const auto* rejected = std::get_if<Rejected>(&result)) {
        ADD_FAILURE() << "rejected: " << rejected->why;
        return {};
    }
    return std::get<Accepted>(result);
}

AssociateRj expect_rejected(const std::variant<Accepted, Rejected>& result) {
    if (std::holds_alternative<Accepted>(result)) {
        ADD_FAILURE() << "expected an A-ASSOCIATE-RJ, the association was accepted";
        return {0, 0, 0};
    }
    const Rejected& rejected = std::get<Rejected>(result);
    EXPECT_FALSE(rejected.why.empty()) << "a rejection must say why, for the log";
    return rejected.rj;
}

void expect_rj(const AssociateRj& rj, int result, int source, int reason) {
    EXPECT_EQ(rj.result, result);
    EXPECT_EQ(rj.source, source);
    EXPECT_EQ(rj.reason, reason);
}

TEST(Negotiation, CtImageStorageTakesProposersFirstAcceptableSyntax) {
    const auto config = county_config();
    const Accepted ok = expect_accepted(negotiate(
        request({context(1, kCtImageStorage, {kJpegLossless, kExplicitLe, kImplicitLe})}), config));
    ASSERT_EQ(ok.ac.contexts.size(), 1u);
    EXPECT_EQ(ok.ac.contexts[0].id, 1);
    EXPECT_EQ(ok.ac.contexts[0].result, ContextResult::acceptance);
    EXPECT_EQ(ok.ac.contexts[0].transfer_syntax, kJpegLossless);
    ASSERT_EQ(ok.contexts.count(1), 1u);
    EXPECT_EQ(ok.contexts.at(1).abstract_syntax, kCtImageStorage);
    EXPECT_EQ(ok.contexts.at(1).transfer_syntax, kJpegLossless);

    // The proposer's order decides, not a preference of ours.
    const Accepted reversed = expect_accepted(
        negotiate(request({context(1, kCtImageStorage, {kExplicitLe, kJpegLossless})}), config));
    ASSERT_EQ(reversed.ac.contexts.size(), 1u);
    EXPECT_EQ(reversed.ac.contexts[0].transfer_syntax, kExplicitLe);

    // An unknown syntax first is skipped, not fatal.
    const Accepted skipped = expect_accepted(
        negotiate(request({context(1, kCtImageStorage, {"1.2.3.4.5.6", kImplicitLe})}), config));
    ASSERT_EQ(skipped.ac.contexts.size(), 1u);
    EXPECT_EQ(skipped.ac.contexts[0].result, ContextResult::acceptance);
    EXPECT_EQ(skipped.ac.contexts[0].transfer_syntax, kImplicitLe);
}

TEST(Negotiation, AcceptCarriesOurIdentityAndLimits) {
    const auto config = county_config();
    const Accepted ok =
        expect_accepted(negotiate(request({context(1, kVerification, {kImplicitLe})}), config));
    EXPECT_EQ(ok.ac.protocol_version, 1);
    EXPECT_EQ(ok.ac.called_ae, "COUNTYLINK");
    EXPECT_EQ(ok.ac.calling_ae, "CT_TOWN01");
    EXPECT_EQ(ok.ac.application_context, kAppContext);
    EXPECT_EQ(ok.ac.user.max_pdu_length, config.dicom.max_pdu_bytes);
    EXPECT_FALSE(ok.ac.user.implementation_class_uid.empty());
    EXPECT_EQ(ok.peer_max_pdu, 16384u);
}

TEST(Negotiation, UnknownAbstractSyntaxRefusedPerContext) {
    const Accepted ok =
        expect_accepted(negotiate(request({context(1, "1.2.3.4.5.6.7.8", {kImplicitLe}),
                                           context(3, kCtImageStorage, {kExplicitLe})}),
                                  county_config()));
    ASSERT_EQ(ok.ac.contexts.size(), 2u);
    EXPECT_EQ(ok.ac.contexts[0].id, 1);
    EXPECT_EQ(ok.ac.contexts[0].result, ContextResult::abstract_syntax_not_supported);
    EXPECT_EQ(static_cast<int>(ok.ac.contexts[0].result), 3);
    EXPECT_EQ(ok.ac.contexts[1].id, 3);
    EXPECT_EQ(ok.ac.contexts[1].result, ContextResult::acceptance);
    EXPECT_EQ(ok.contexts.count(1), 0u);  // nothing may be sent on a refused context
    EXPECT_EQ(ok.contexts.count(3), 1u);
}

TEST(Negotiation, OnlyUnknownTransferSyntaxesRefused) {
    const Accepted ok = expect_accepted(negotiate(
        request({context(5, kCtImageStorage, {"1.2.3.4.5.6", "1.2.840.10008.1.2.4.999"})}),
        county_config()));
    ASSERT_EQ(ok.ac.contexts.size(), 1u);
    EXPECT_EQ(ok.ac.contexts[0].id, 5);
    EXPECT_EQ(ok.ac.contexts[0].result, ContextResult::transfer_syntaxes_not_supported);
    EXPECT_EQ(static_cast<int>(ok.ac.contexts[0].result), 4);
    EXPECT_TRUE(ok.contexts.empty());
}

TEST(Negotiation, WrongCalledAeRejected) {
    AssociateRq rq = request({context(1, kVerification, {kImplicitLe})});
    rq.called_ae = "ANY-SCP";
    expect_rj(expect_rejected(negotiate(rq, county_config())), 1, 1, 7);
}

TEST(Negotiation, UnknownCallingAeRefusedWhenUnregisteredNotAccepted) {
    auto config = county_config();
    config.dicom.accept_unregistered = false;
    AssociateRq rq = request({context(1, kVerification, {kImplicitLe})});
    rq.calling_ae = "STRANGER";
    expect_rj(expect_rejected(negotiate(rq, config)), 1, 1, 3);

    // A registered device still gets in under the same config.
    rq.calling_ae = "US_TOWN02";
    EXPECT_EQ(expect_accepted(negotiate(rq, config)).township, "Xiying");
}

TEST(Negotiation, UnknownCallingAeAcceptedAsUnregisteredByDefault) {
    AssociateRq rq = request({context(1, kVerification, {kImplicitLe})});
    rq.calling_ae = "STRANGER";
    EXPECT_EQ(expect_accepted(negotiate(rq, config::embedded_default())).township,
              config::unregistered_township);
}

TEST(Negotiation, KnownCallingAeGivesTownshipName) {
    const auto config = county_config();
    AssociateRq rq = request({context(1, kTwelveLeadEcg, {kExplicitLe})});
    rq.calling_ae = "ECG_TOWN01";
    EXPECT_EQ(expect_accepted(negotiate(rq, config)).township, "Dongxiang");
    rq.calling_ae = "US_TOWN02";
    EXPECT_EQ(expect_accepted(negotiate(rq, config)).township, "Xiying");
}

TEST(Negotiation, WrongApplicationContextRejected) {
    AssociateRq rq = request({context(1, kVerification, {kImplicitLe})});
    rq.application_context = "1.2.840.10008.3.1.1.2";
    expect_rj(expect_rejected(negotiate(rq, county_config())), 1, 1, 2);
}

// PS3.8 9.3.2: version 1 is bit 0 of the protocol version field; 1/2/2 when it is not set.
TEST(Negotiation, UnsupportedProtocolVersionRejected) {
    AssociateRq rq = request({context(1, kVerification, {kImplicitLe})});
    rq.protocol_version = 0x0002;
    expect_rj(expect_rejected(negotiate(rq, county_config())), 1, 2, 2);
}

TEST(Negotiation, TwelveLeadEcgWaveformAccepted) {
    const Accepted ok = expect_accepted(negotiate(
        request({context(1, kTwelveLeadEcg, {kExplicitLe, kImplicitLe})}), county_config()));
    ASSERT_EQ(ok.ac.contexts.size(), 1u);
    EXPECT_EQ(ok.ac.contexts[0].result, ContextResult::acceptance);
    EXPECT_EQ(ok.ac.contexts[0].transfer_syntax, kExplicitLe);
    EXPECT_EQ(ok.contexts.at(1).abstract_syntax, kTwelveLeadEcg);
}

TEST(Negotiation, VerificationAccepted) {
    const Accepted ok = expect_accepted(
        negotiate(request({context(9, kVerification, {kImplicitLe})}), county_config()));
    ASSERT_EQ(ok.ac.contexts.size(), 1u);
    EXPECT_EQ(ok.ac.contexts[0].id, 9);
    EXPECT_EQ(ok.ac.contexts[0].result, ContextResult::acceptance);
    EXPECT_EQ(ok.ac.contexts[0].transfer_syntax, kImplicitLe);
    EXPECT_EQ(ok.contexts.at(9).abstract_syntax, kVerification);
}

// Storage Commitment requests are parsed by us, so only the little-endian syntaxes are taken.
TEST(Negotiation, StorageCommitmentAcceptedInLittleEndianOnly) {
    constexpr std::string_view kCommitment = "1.2.840.10008.1.20.1";
    const auto accepted = expect_accepted(negotiate(
        request({context(1, kCommitment, {kJpegLossless, kExplicitLe}),
                 context(3, kCommitment, {"1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99"})}),
        county_config()));
    ASSERT_EQ(accepted.ac.contexts.size(), 2u);
    EXPECT_EQ(accepted.ac.contexts[0].result, ContextResult::acceptance);
    EXPECT_EQ(accepted.ac.contexts[0].transfer_syntax, kExplicitLe);
    EXPECT_EQ(accepted.ac.contexts[1].result, ContextResult::transfer_syntaxes_not_supported);
    EXPECT_EQ(accepted.contexts.size(), 1u);
}

}  // namespace
constexpr std::string_view kStudyRootFind = "1.2.840.10008.5.1.4.1.2.2.1";
constexpr std::string_view kPatientRootFind = "1.2.840.10008.5.1.4.1.2.1.1";

config::Config config_with_viewer() {
    config::Config config = county_config();
    config::Principal reader;
    reader.name = "cardiology";
    reader.role = config::Role::reader;
    reader.queues = {"ecg"};
    reader.ae_titles = {"READ_STATION1"};
    config.api.principals.push_back(reader);
    return config;
}

// A county viewer queries and echoes; it cannot store (user rejection, result 1), and the
// log note says why.
TEST(Negotiation, ViewerMayQueryButNotStore) {
    AssociateRq rq = request(
        {context(1, kStudyRootFind, {kExplicitLe}), context(3, kPatientRootFind, {kImplicitLe}),
         context(5, kCtImageStorage, {kExplicitLe}), context(7, kVerification, {kImplicitLe})});
    rq.calling_ae = "READ_STATION1";
    const config::Config config = config_with_viewer();  // `viewer` points into it
    const Accepted ok = expect_accepted(negotiate(rq, config));
    ASSERT_NE(ok.viewer, nullptr);
    EXPECT_EQ(ok.viewer->name, "cardiology");
    EXPECT_EQ(ok.township, "");
    ASSERT_EQ(ok.ac.contexts.size(), 4u);
    EXPECT_EQ(ok.ac.contexts[0].result, ContextResult::acceptance);
    EXPECT_EQ(ok.ac.contexts[1].result, ContextResult::acceptance);
    EXPECT_EQ(ok.ac.contexts[2].result, ContextResult::user_rejection);
    EXPECT_EQ(ok.ac.contexts[3].result, ContextResult::acceptance);
    EXPECT_EQ(ok.contexts.size(), 3u);
    EXPECT_NE(ok.note.find("only query"), std::string::npos) << ok.note;
}

// Equipment of a township may query (its own studies, see the C-FIND tests); an unregistered
// caller may store but not query patient data.
TEST(Negotiation, FindNeedsARegisteredCaller) {
    AssociateRq rq = request({context(1, kStudyRootFind, {kJpegLossless, kImplicitLe})});
    const Accepted township = expect_accepted(negotiate(rq, config_with_viewer()));
    EXPECT_EQ(township.viewer, nullptr);
    ASSERT_EQ(township.ac.contexts.size(), 1u);
    EXPECT_EQ(township.ac.contexts[0].result, ContextResult::acceptance);
    EXPECT_EQ(township.ac.contexts[0].transfer_syntax, kImplicitLe) << "request syntaxes only";

    rq.calling_ae = "STRANGER";
    rq.contexts.push_back(context(3, kCtImageStorage, {kExplicitLe}));
    const Accepted stranger = expect_accepted(negotiate(rq, config_with_viewer()));
    EXPECT_EQ(stranger.township, config::unregistered_township);
    EXPECT_EQ(stranger.ac.contexts[0].result, ContextResult::user_rejection);
    EXPECT_EQ(stranger.ac.contexts[1].result, ContextResult::acceptance);
    EXPECT_NE(stranger.note.find("ae_titles"), std::string::npos) << stranger.note;
}

// C-MOVE sends patient data out: viewers only.
TEST(Negotiation, MoveIsForViewersOnly) {
    constexpr std::string_view kStudyRootMove = "1.2.840.10008.5.1.4.1.2.2.2";
    AssociateRq rq = request({context(1, kStudyRootMove, {kExplicitLe})});
    const config::Config config = config_with_viewer();
    const Accepted equipment = expect_accepted(negotiate(rq, config));
    EXPECT_EQ(equipment.ac.contexts[0].result, ContextResult::user_rejection);
    EXPECT_NE(equipment.note.find("viewers"), std::string::npos) << equipment.note;
    rq.calling_ae = "READ_STATION1";
    const Accepted viewer = expect_accepted(negotiate(rq, config));
    EXPECT_EQ(viewer.ac.contexts[0].result, ContextResult::acceptance);
}

// C-GET: a viewer's storage context is accepted when it takes the SCP role for the class (it
// receives), and the AC answers that role (SCU 0: it still may not store); without the role
// item the context stays refused. Equipment proposing the role gets plain storage.
TEST(Negotiation, GetStorageContextsNeedTheViewersScpRole) {
    constexpr std::string_view kStudyRootGet = "1.2.840.10008.5.1.4.1.2.2.3";
    AssociateRq rq = request({context(1, kStudyRootGet, {kImplicitLe}),
                              context(3, kCtImageStorage, {kJpegLossless, kExplicitLe}),
                              context(5, kTwelveLeadEcg, {kExplicitLe})});
    rq.user.roles.push_back({std::string(kCtImageStorage), false, true});
    rq.calling_ae = "READ_STATION1";
    const config::Config config = config_with_viewer();
    const Accepted viewer = expect_accepted(negotiate(rq, config));
    ASSERT_EQ(viewer.ac.contexts.size(), 3u);
    EXPECT_EQ(viewer.ac.contexts[0].result, ContextResult::acceptance);
    EXPECT_EQ(viewer.ac.contexts[1].result, ContextResult::acceptance);
    EXPECT_EQ(viewer.ac.contexts[1].transfer_syntax, kJpegLossless);
    EXPECT_TRUE(viewer.contexts.at(3).requester_is_scp);
    EXPECT_EQ(viewer.ac.contexts[2].result, ContextResult::user_rejection) << "no role item";
    ASSERT_EQ(viewer.ac.user.roles.size(), 1u);
    EXPECT_EQ(viewer.ac.user.roles[0].sop_class_uid, kCtImageStorage);
    EXPECT_FALSE(viewer.ac.user.roles[0].scu);
    EXPECT_TRUE(viewer.ac.user.roles[0].scp);

    rq.calling_ae = "CT_TOWN01";
    const Accepted equipment = expect_accepted(negotiate(rq, config));
    EXPECT_EQ(equipment.ac.contexts[0].result, ContextResult::user_rejection);
    EXPECT_FALSE(equipment.contexts.at(3).requester_is_scp);
    EXPECT_TRUE(equipment.ac.user.roles.empty());
}

// A viewer AE title tied to its station's address: from elsewhere it is not recognised.
TEST(Negotiation, ViewerFromAnotherAddressIsRejected) {
    config::Config config = config_with_viewer();
    config.api.principals.back().ae_hosts = {"10.20.0.31", "::ffff:10.20.0.32"};
    AssociateRq rq = request({context(1, kStudyRootFind, {kExplicitLe})});
    rq.calling_ae = "READ_STATION1";
    EXPECT_NE(expect_accepted(negotiate(rq, config, "10.20.0.31")).viewer, nullptr);
    EXPECT_NE(expect_accepted(negotiate(rq, config, "10.20.0.32")).viewer, nullptr)
        << "an IPv4-mapped address is the same station";
    expect_rj(expect_rejected(negotiate(rq, config, "10.20.0.99")), 1, 1, 3);
    expect_rj(expect_rejected(negotiate(rq, config, "")), 1, 1, 3);
    rq.calling_ae = "CT_TOWN01";  // equipment is not limited by a viewer's hosts
    EXPECT_EQ(expect_accepted(negotiate(rq, config, "10.20.0.99")).township, "Dongxiang");
}

}  // namespace countylink::dicom
