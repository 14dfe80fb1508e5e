// Routing: default queues, rules, and the priority an object asks for.
#include <gtest/gtest.h>

#include "gateway/route/router.hpp"

namespace countylink::route {
namespace {

codecs::dicom::Identifiers object(const std::string& sop_class, const std::string& modality) {
    codecs::dicom::Identifiers ids;
    ids.sop_class_uid = sop_class;
    ids.modality = modality;
    return ids;
}

constexpr const char* kCt = "1.2.840.10008.5.1.4.1.1.2";
constexpr const char* kEcg = "1.2.840.10008.5.1.4.1.1.9.1.1";
constexpr const char* kSr = "1.2.840.10008.5.1.4.1.1.88.33";

TEST(Router, DefaultsSendImagesToImagingAndEcgAtOnceToEcg) {
    const config::RoutingSettings settings;
    const Router router(settings);
    const auto ct = router.route(object(kCt, "CT"), "Dongshan");
    EXPECT_EQ(ct.queues, std::vector<std::string>{"imaging"});
    EXPECT_FALSE(ct.immediate);
    const auto ecg = router.route(object(kEcg, "ECG"), "Dongshan");
    EXPECT_EQ(ecg.queues, std::vector<std::string>{"ecg"});
    EXPECT_TRUE(ecg.immediate);
    EXPECT_TRUE(router.route(object(kSr, "SR"), "Dongshan").queues.empty());
}

TEST(Router, RulesMatchOnEveryConditionAndRaisePriority) {
    config::RoutingSettings settings;
    settings.rules.push_back({{}, {kEcg}, {"Xiping"}, config::Priority::stat, {"ecg"}, {}, {}});
    settings.rules.push_back(
        {{"CT", "DX"}, {}, {}, std::nullopt, {"imaging", "teaching"}, {"county-pacs"}, {}});
    const Router router(settings);
    const auto xiping_ecg = router.route(object(kEcg, "ECG"), "Xiping");
    EXPECT_EQ(xiping_ecg.queues, std::vector<std::string>{"ecg"});
    EXPECT_EQ(xiping_ecg.priority, config::Priority::stat);
    EXPECT_TRUE(router.route(object(kEcg, "ECG"), "Dongshan").queues.empty());
    const auto ct = router.route(object(kCt, "CT"), "Dongshan");
    EXPECT_EQ(ct.queues, (std::vector<std::string>{"imaging", "teaching"}));
    EXPECT_EQ(ct.forward, std::vector<std::string>{"county-pacs"});
    EXPECT_TRUE(xiping_ecg.forward.empty());
    EXPECT_EQ(ct.priority, config::Priority::routine);
}

TEST(Router, EcgVerdictRulesSendUnacceptableTracingsToTheRedoQueue) {
    config::RoutingSettings settings;
    config::RouteRule redo;
    redo.sop_classes = {kEcg};
    redo.ecg_verdicts = {"unacceptable"};
    redo.queues = {"redo-xiping"};
    config::RouteRule cardiology;
    cardiology.ecg_verdicts = {"acceptable"};
    cardiology.queues = {"cardiology"};
    config::RouteRule all_ct;
    all_ct.modalities = {"CT"};
    all_ct.queues = {"imaging"};
    settings.rules = {redo, cardiology, all_ct};
    const Router router(settings);
    EXPECT_EQ(router.route(object(kEcg, "ECG"), "Xiping", "unacceptable").queues,
              std::vector<std::string>{"redo-xiping"});
    EXPECT_EQ(router.route(object(kEcg, "ECG"), "Xiping", "acceptable").queues,
              std::vector<std::string>{"cardiology"});
    // Objects without a verdict never match verdict rules.
    EXPECT_EQ(router.route(object(kCt, "CT"), "Xiping").queues,
              std::vector<std::string>{"imaging"});
}

TEST(Router, PriorityFromTheObject) {
    auto ids = object(kCt, "CT");
    EXPECT_EQ(priority_of(ids), config::Priority::routine);
    ids.requested_procedure_priority = "stat";
    EXPECT_EQ(priority_of(ids), config::Priority::stat);
    ids.requested_procedure_priority = "HIGH";
    EXPECT_EQ(priority_of(ids), config::Priority::urgent);
    ids.requested_procedure_priority = "";
    ids.study_priority_id = "HIGH";
    EXPECT_EQ(priority_of(ids), config::Priority::urgent);
}

}  // namespace
}  // namespace countylink::route
