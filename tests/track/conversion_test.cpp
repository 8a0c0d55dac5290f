// Conversion postbacks: HMAC-SHA256 against RFC 4231, the X-Reelflow-Signature header (window,
// rotation, tampering, malformed headers, no secret in messages), JSON and form bodies with every
// field error, and the signed pixel query.
#include "track/conversion.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <vector>

namespace reelflow::track {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kJson = "application/json";
constexpr std::string_view kForm = "application/x-www-form-urlencoded";
constexpr std::int64_t kNow = 1764470000;
constexpr std::string_view kSecret = "whsec_shop_0123456789";

std::string sign_header(std::string_view secret, std::int64_t t, std::string_view body) {
  const std::string stamp = std::to_string(t);
  return "t=" + stamp + ",v1=" + hmac_sha256_hex(secret, stamp + "." + std::string(body));
}

// What a shop does: build the query, sign "<t>.<query>", append &sig=.
std::string sign_pixel(std::string_view secret, std::int64_t t, std::string_view query_without_t) {
  const std::string query = std::string(query_without_t) + "&t=" + std::to_string(t);
  return query + "&sig=" + hmac_sha256_hex(secret, std::to_string(t) + "." + query);
}

std::string error_of(std::string_view content_type, std::string_view body) {
  auto parsed = parse_conversion(content_type, body);
  return parsed ? std::string("(parsed)") : parsed.error().message;
}

// ---- HMAC
// ----------------------------------------------------------------------------------------

TEST(Hmac, Rfc4231TestCase1) {
  EXPECT_EQ(hmac_sha256_hex(std::string(20, '\x0b'), "Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(Hmac, Rfc4231TestCase2KeyShorterThanOutput) {
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Hmac, Rfc4231TestCase3BinaryData) {
  EXPECT_EQ(hmac_sha256_hex(std::string(20, '\xaa'), std::string(50, '\xdd')),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
}

TEST(Hmac, Rfc4231TestCase6KeyLongerThanBlock) {
  EXPECT_EQ(hmac_sha256_hex(std::string(131, '\xaa'),
                            "Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(Hmac, EmptyKeyAndMessageWork) {
  // Python: hmac.new(b"", b"", hashlib.sha256).hexdigest()
  EXPECT_EQ(hmac_sha256_hex("", ""),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

// ---- Signature header
// ----------------------------------------------------------------------------

const std::string kBody =
    R"({"click":"rfc_abc123","event":"purchase","value":49.9,"currency":"EUR"})";

TEST(Signature, AcceptsAGoodSignature) {
  EXPECT_TRUE(verify_signature(sign_header(kSecret, kNow, kBody), kBody, kSecret, kNow));
}

TEST(Signature, AcceptsSpacesAnyOrderAndUpperCaseHex) {
  const std::string hex = hmac_sha256_hex(kSecret, std::to_string(kNow) + "." + kBody);
  std::string upper = hex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(verify_signature("v1=" + hex + ", t=" + std::to_string(kNow), kBody, kSecret, kNow));
  EXPECT_TRUE(verify_signature(" t=" + std::to_string(kNow) + " ,  v1=" + upper + " ", kBody,
                               kSecret, kNow));
  EXPECT_TRUE(verify_signature("t=" + std::to_string(kNow) + ",v2=future,v1=" + hex + ",", kBody,
                               kSecret, kNow));
}

TEST(Signature, RotatedSecretsEitherV1Matches) {
  const std::string stamp = std::to_string(kNow);
  const std::string header = "t=" + stamp + ",v1=" + hmac_sha256_hex("old", stamp + "." + kBody) +
                             ",v1=" + hmac_sha256_hex("new", stamp + "." + kBody);
  EXPECT_TRUE(verify_signature(header, kBody, "old", kNow));
  EXPECT_TRUE(verify_signature(header, kBody, "new", kNow));
  auto other = verify_signature(header, kBody, "neither", kNow);
  ASSERT_FALSE(other);
  EXPECT_THAT(other.error().message, HasSubstr("does not match"));
}

TEST(Signature, RejectsATamperedBody) {
  const std::string header = sign_header(kSecret, kNow, kBody);
  std::string tampered = kBody;
  tampered.replace(tampered.find("49.9"), 4, "99.9");
  auto result = verify_signature(header, tampered, kSecret, kNow);
  ASSERT_FALSE(result);
  EXPECT_THAT(result.error().message, HasSubstr("does not match"));
  // A trailing newline is a different body too.
  EXPECT_FALSE(verify_signature(header, kBody + "\n", kSecret, kNow));
}

TEST(Signature, RejectsATamperedTimestamp) {
  std::string header = sign_header(kSecret, kNow, kBody);
  header.replace(0, header.find(','), "t=" + std::to_string(kNow + 1));
  auto result = verify_signature(header, kBody, kSecret, kNow);
  ASSERT_FALSE(result);
  EXPECT_THAT(result.error().message, HasSubstr("does not match"));
}

TEST(Signature, ExpiredTimestampSaysByHowMuchAndTheWindow) {
  auto result = verify_signature(sign_header(kSecret, kNow - 412, kBody), kBody, kSecret, kNow);
  ASSERT_FALSE(result);
  EXPECT_THAT(result.error().message, HasSubstr("412 s in the past"));
  EXPECT_THAT(result.error().message, HasSubstr("window is 300 s"));
}

TEST(Signature, FutureTimestampSaysByHowMuch) {
  auto result =
      verify_signature(sign_header(kSecret, kNow + 1000, kBody), kBody, kSecret, kNow, 600);
  ASSERT_FALSE(result);
  EXPECT_THAT(result.error().message, HasSubstr("1000 s in the future"));
  EXPECT_THAT(result.error().message, HasSubstr("window is 600 s"));
}

TEST(Signature, TheWindowsEdgesAreInside) {
  EXPECT_TRUE(verify_signature(sign_header(kSecret, kNow - 300, kBody), kBody, kSecret, kNow));
  EXPECT_TRUE(verify_signature(sign_header(kSecret, kNow + 300, kBody), kBody, kSecret, kNow));
  EXPECT_FALSE(verify_signature(sign_header(kSecret, kNow - 301, kBody), kBody, kSecret, kNow));
  EXPECT_FALSE(verify_signature(sign_header(kSecret, kNow + 301, kBody), kBody, kSecret, kNow));
}

TEST(Signature, AStaleForgeryIsAMismatchNotAClockProblem) {
  auto result = verify_signature(sign_header("guessed", kNow - 86400, kBody), kBody, kSecret, kNow);
  ASSERT_FALSE(result);
  EXPECT_THAT(result.error().message, HasSubstr("does not match"));
}

TEST(Signature, AnEmptySecretMatchesNothing) {
  auto result = verify_signature(sign_header("", kNow, kBody), kBody, "", kNow);
  ASSERT_FALSE(result);
  EXPECT_THAT(result.error().message, HasSubstr("no secret is configured"));
}

TEST(Signature, MalformedHeaders) {
  const std::string hex = hmac_sha256_hex(kSecret, std::to_string(kNow) + "." + kBody);
  const std::string stamp = std::to_string(kNow);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "it is empty"},
      {"   ", "it is empty"},
      {"v1=" + hex, "t is missing"},
      {"t=" + stamp, "no v1 signature"},
      {"t=" + stamp + ",t=" + stamp + ",v1=" + hex, "t appears twice"},
      {"t=now,v1=" + hex, "is not unix seconds"},
      {"t=-5,v1=" + hex, "is not unix seconds"},
      {"t=+" + stamp + ",v1=" + hex, "is not unix seconds"},
      {"t=1234567890123,v1=" + hex, "is not unix seconds"},
      {"t=" + stamp + ",v1=" + hex.substr(0, 63), "not 64 hex digits (it has 63"},
      {"t=" + stamp + ",v1=" + hex.substr(0, 63) + "g", "not 64 hex digits"},
      {"t=" + stamp + ",v1=" + hex + "00", "not 64 hex digits"},
      {"t=" + stamp + ";v1=" + hex, "is not unix seconds"},  // ';' is not a separator
      {"t " + stamp + ",v1=" + hex, "is not key=value"},
      {"=" + stamp + ",v1=" + hex, "is not key=value"},
      {std::string(5000, 'x'), "5000 bytes long"},
  };
  for (const auto& [header, expected] : cases) {
    auto result = verify_signature(header, kBody, kSecret, kNow);
    ASSERT_FALSE(result) << header;
    EXPECT_THAT(result.error().message, HasSubstr("malformed")) << header;
    EXPECT_THAT(result.error().message, HasSubstr(expected)) << header;
  }
}

TEST(Signature, MessagesNeverContainTheSecretOrTheExpectedSignature) {
  const std::string expected_hex = hmac_sha256_hex(kSecret, std::to_string(kNow) + "." + kBody);
  const std::vector<std::string> headers = {
      sign_header("wrong", kNow, kBody), sign_header(kSecret, kNow - 999, kBody),
      sign_header(kSecret, kNow + 999, kBody), "t=" + std::to_string(kNow), "garbage"};
  for (const auto& header : headers) {
    auto result = verify_signature(header, kBody, kSecret, kNow);
    ASSERT_FALSE(result) << header;
    EXPECT_THAT(result.error().message, Not(HasSubstr(kSecret)));
    EXPECT_THAT(result.error().message, Not(HasSubstr(expected_hex)));
    EXPECT_THAT(result.error().message, Not(HasSubstr(expected_hex.substr(0, 16))));
  }
}

// ---- Conversion bodies
// ---------------------------------------------------------------------------

TEST(Conversion, ParsesAFullJsonBody) {
  auto parsed = parse_conversion(
      kJson, R"({"click": "rfc_abc-123", "event": "purchase", "value": 49.9, "currency": "EUR",
                 "order_id": "A-1001", "at": "2026-11-30T10:00:00Z"})");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->click_id, "rfc_abc-123");
  EXPECT_EQ(parsed->code, "");
  EXPECT_EQ(parsed->event, "purchase");
  EXPECT_DOUBLE_EQ(parsed->value, 49.9);
  EXPECT_EQ(parsed->currency, "EUR");
  EXPECT_EQ(parsed->order_id, "A-1001");
  ASSERT_TRUE(parsed->at_ms);
  EXPECT_EQ(*parsed->at_ms, 1796032800000);
}

TEST(Conversion, ContentTypeIgnoresCaseAndParameters) {
  const std::string body = R"({"code": "summer", "event": "lead"})";
  for (std::string_view type : {"application/json; charset=utf-8", "Application/JSON",
                                "  application/json ;charset=UTF-8", "APPLICATION/JSON;"}) {
    auto parsed = parse_conversion(type, body);
    ASSERT_TRUE(parsed) << type;
    EXPECT_EQ(parsed->code, "summer");
    EXPECT_EQ(parsed->event, "lead");
  }
  EXPECT_TRUE(parse_conversion("Application/X-WWW-Form-Urlencoded; charset=utf-8",
                               "code=summer&event=lead"));
}

TEST(Conversion, RefusesOtherContentTypes) {
  for (std::string_view type :
       {"", "text/plain", "application/jsonx", "multipart/form-data", "application/json-seq"}) {
    EXPECT_THAT(error_of(type, R"({"code": "summer", "event": "lead"})"),
                HasSubstr("unsupported Content-Type"))
        << type;
  }
}

TEST(Conversion, ParsesAFullFormBodyWithPercentEncoding) {
  auto parsed = parse_conversion(
      kForm,
      "click=rfc_abc123&event=Purchase&value=49.90&currency=eur&order_id=A+1001%2F%C3%A9%26x"
      "&at=1764470000&utm_source=tiktok&empty&=&");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->click_id, "rfc_abc123");
  EXPECT_EQ(parsed->event, "purchase");  // lower-cased
  EXPECT_DOUBLE_EQ(parsed->value, 49.9);
  EXPECT_EQ(parsed->currency, "EUR");  // upper-cased
  EXPECT_EQ(parsed->order_id, "A 1001/\xC3\xA9&x");
  ASSERT_TRUE(parsed->at_ms);
  EXPECT_EQ(*parsed->at_ms, kNow * 1000);
}

TEST(Conversion, PercentEncodedNamesAreDecoded) {
  auto parsed = parse_conversion(kForm, "%63ode=summer&ev%65nt=lead");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->code, "summer");
}

TEST(Conversion, ValueForms) {
  const auto value_of = [](std::string_view type, const std::string& body) {
    auto parsed = parse_conversion(type, body);
    EXPECT_TRUE(parsed) << body << ": " << (parsed ? "" : parsed.error().message);
    return parsed ? parsed->value : -1.0;
  };
  EXPECT_DOUBLE_EQ(value_of(kJson, R"({"code":"summer","event":"lead","value":"49.90",
                                      "currency":"USD"})"),
                   49.9);
  EXPECT_DOUBLE_EQ(value_of(kJson, R"({"code":"summer","event":"lead","value":12,
                                      "currency":"USD"})"),
                   12);
  EXPECT_DOUBLE_EQ(value_of(kJson, R"({"code":"summer","event":"lead","value":1e3,
                                      "currency":"USD"})"),
                   1000);
  EXPECT_DOUBLE_EQ(value_of(kForm, "code=summer&event=lead&value=.5&currency=USD"), 0.5);
  EXPECT_DOUBLE_EQ(value_of(kForm, "code=summer&event=lead&value=5.&currency=USD"), 5);
  EXPECT_DOUBLE_EQ(value_of(kForm, "code=summer&event=lead&value=999999999999.99&currency=USD"),
                   999999999999.99);
  // A zero value needs no currency; a negative zero is zero.
  EXPECT_DOUBLE_EQ(value_of(kJson, R"({"code":"summer","event":"lead","value":0})"), 0);
  EXPECT_DOUBLE_EQ(value_of(kJson, R"({"code":"summer","event":"lead","value":-0.0})"), 0);
  EXPECT_DOUBLE_EQ(value_of(kForm, "code=summer&event=lead&value=0.00"), 0);
  EXPECT_DOUBLE_EQ(value_of(kForm, "code=summer&event=lead&value=0." + std::string(400, '0') + "1"),
                   0);
}

TEST(Conversion, NullAndEmptyCountAsAbsent) {
  auto json = parse_conversion(kJson, R"({"click": null, "code": "summer", "event": "lead",
                                          "value": null, "currency": "", "order_id": null,
                                          "at": ""})");
  ASSERT_TRUE(json) << json.error().message;
  EXPECT_EQ(json->code, "summer");
  EXPECT_EQ(json->value, 0);
  EXPECT_EQ(json->currency, "");
  EXPECT_EQ(json->order_id, "");
  EXPECT_FALSE(json->at_ms);
  auto form = parse_conversion(kForm, "click=&code=summer&event=lead&value=&currency=&at=");
  ASSERT_TRUE(form) << form.error().message;
  EXPECT_EQ(form->code, "summer");
}

TEST(Conversion, CurrencyIsKeptWithAZeroValue) {
  auto parsed = parse_conversion(kJson, R"({"code":"summer","event":"lead","currency":"jpy"})");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->currency, "JPY");
}

TEST(Conversion, UnknownFieldsAreIgnored) {
  auto parsed = parse_conversion(kJson, R"({"code": "summer", "event": "lead",
      "customer": {"email": "a@b.c", "tags": [1, 2, {"x": null}]}, "test": true,
      "Click": 5, "items": [[[[[]]]]]})");
  ASSERT_TRUE(parsed) << parsed.error().message;
  // Unknown form parameters are not even decoded.
  EXPECT_TRUE(parse_conversion(kForm, "code=summer&event=lead&extra=%zz&bin=%FF"));
}

TEST(Conversion, OrderIdForms) {
  auto number = parse_conversion(kJson, R"({"code":"summer","event":"lead","order_id":1001})");
  ASSERT_TRUE(number);
  EXPECT_EQ(number->order_id, "1001");
  auto big = parse_conversion(
      kJson, R"({"code":"summer","event":"lead","order_id":18446744073709551615})");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->order_id, "18446744073709551615");
  auto unicode = parse_conversion(kJson, R"({"code":"summer","event":"lead","order_id":"订单-7"})");
  ASSERT_TRUE(unicode);
  EXPECT_EQ(unicode->order_id, "订单-7");
  // 128 characters, even when they take more bytes.
  std::string longest;
  for (int i = 0; i < 128; ++i) longest += "é";
  auto at_limit =
      parse_conversion(kJson, R"({"code":"summer","event":"lead","order_id":")" + longest + "\"}");
  EXPECT_TRUE(at_limit) << at_limit.error().message;
  auto spaces = parse_conversion(kForm, "code=summer&event=lead&order_id=+A+");
  ASSERT_TRUE(spaces);
  EXPECT_EQ(spaces->order_id, " A ");  // exactly as sent
}

TEST(Conversion, AtForms) {
  const auto at_of = [](std::string_view type, const std::string& body) -> std::int64_t {
    auto parsed = parse_conversion(type, body);
    EXPECT_TRUE(parsed) << body << ": " << (parsed ? "" : parsed.error().message);
    return parsed && parsed->at_ms ? *parsed->at_ms : -1;
  };
  EXPECT_EQ(at_of(kJson, R"({"code":"summer","event":"lead","at":1764470000})"), kNow * 1000);
  EXPECT_EQ(at_of(kJson, R"({"code":"summer","event":"lead","at":1764470000.25})"),
            kNow * 1000 + 250);
  EXPECT_EQ(at_of(kJson, R"({"code":"summer","event":"lead","at":"1764470000"})"), kNow * 1000);
  EXPECT_EQ(at_of(kJson, R"({"code":"summer","event":"lead","at":"2026-11-30T11:00:00+01:00"})"),
            1796032800000);
  EXPECT_EQ(at_of(kForm, "code=summer&event=lead&at=2026-11-30T11%3A00%3A00%2B01%3A00"),
            1796032800000);
}

struct FieldErrorCase {
  std::string_view type;
  std::string body;
  std::string expected;  // a substring of the message
};

TEST(Conversion, EveryFieldErrorNamesTheField) {
  const std::string c = R"("code":"summer",)";  // a valid link code, to reach the other fields
  const std::vector<FieldErrorCase> cases = {
      // click / code
      {kJson, R"({"event":"lead"})", "click: missing"},
      {kJson, R"({"click":"abcd","code":"summer","event":"lead"})", "not both"},
      {kJson, R"({"click":"abc","event":"lead"})", "click: 'abc' is not a click id"},
      {kJson, R"({"click":"ab cd","event":"lead"})", "click: 'ab cd' is not a click id"},
      {kJson, R"({"code":")" + std::string(65, 'x') + R"(","event":"lead"})", "code: 'xxxxxxxx"},
      {kJson, R"({"code":"sum.mer","event":"lead"})", "is not a link code"},
      {kJson, R"({"click":12345,"event":"lead"})", "click: expected a string, got a number"},
      {kJson, R"({"click":["abcd"],"event":"lead"})",
       "click: expected a string or a number, got an array"},
      {kForm, "event=lead", "click: missing"},
      {kForm, "click=abcd&code=summer&event=lead", "not both"},
      {kForm, "click=ab%21cd&event=lead", "click: 'ab!cd' is not a click id"},
      {kForm, "click=abcd&click=efgh&event=lead", "click: appears more than once"},
      // event
      {kJson, "{" + c + R"("value":1})", "event: missing"},
      {kJson, "{" + c + R"("event":"buy now"})", "event: 'buy now' is not an event name"},
      {kJson, "{" + c + R"("event":")" + std::string(65, 'e') + "\"}", "event: 'eeee"},
      {kJson, "{" + c + R"("event":7})", "event: expected a string"},
      {kJson, "{" + c + R"("event":true})", "event: expected a string or a number, got a boolean"},
      {kForm, "code=summer", "event: missing"},
      {kForm, "code=summer&event=k%C3%B8b",
       "event: 'k\xC3\xB8"
       "b' is not an event name"},
      {kForm, "code=summer&event=lead&event=purchase", "event: appears more than once"},
      // value
      {kJson, "{" + c + R"("event":"lead","value":-1,"currency":"EUR"})",
       "value: must be at least 0"},
      {kJson, "{" + c + R"("event":"lead","value":1e12,"currency":"EUR"})",
       "value: must be at least 0 and below 1e12"},
      {kJson, "{" + c + R"("event":"lead","value":"abc","currency":"EUR"})",
       "value: 'abc' is not a decimal number"},
      {kJson, "{" + c + R"("event":"lead","value":"-1","currency":"EUR"})",
       "value: '-1' is not a decimal number"},
      {kJson, "{" + c + R"("event":"lead","value":"1e3","currency":"EUR"})",
       "value: '1e3' is not a decimal"},
      {kJson, "{" + c + R"("event":"lead","value":{},"currency":"EUR"})",
       "value: expected a string or a number, got an object"},
      {kForm, "code=summer&event=lead&value=1%2C5&currency=EUR", "value: '1,5' is not a decimal"},
      {kForm, "code=summer&event=lead&value=+5&currency=EUR", "value: ' 5' is not a decimal"},
      {kForm, "code=summer&event=lead&value=1.2.3&currency=EUR", "value: '1.2.3'"},
      {kForm, "code=summer&event=lead&value=.&currency=EUR", "value: '.' is not a decimal"},
      {kForm, "code=summer&event=lead&value=NaN&currency=EUR", "value: 'NaN'"},
      {kForm, "code=summer&event=lead&value=1000000000000&currency=EUR",
       "value: must be at least 0 and below 1e12"},
      {kForm, "code=summer&event=lead&value=9" + std::string(400, '9') + "&currency=EUR",
       "below 1e12"},
      // currency
      {kJson, "{" + c + R"("event":"lead","value":5})", "currency: missing; it is required"},
      {kJson, "{" + c + R"("event":"lead","value":"0.01"})", "currency: missing"},
      {kJson, "{" + c + R"("event":"lead","value":5,"currency":"EURO"})",
       "currency: 'EURO' is not a currency code"},
      {kJson, "{" + c + R"("event":"lead","value":5,"currency":"E1R"})", "currency: 'E1R'"},
      {kJson, "{" + c + R"("event":"lead","value":5,"currency":978})",
       "currency: expected a string"},
      {kJson, "{" + c + R"("event":"lead","currency":"€"})", "currency: '€'"},
      {kForm, "code=summer&event=lead&value=5", "currency: missing"},
      {kForm, "code=summer&event=lead&value=5&currency=eu",
       "currency: 'eu' is not a currency code"},
      // order_id
      {kJson, "{" + c + R"("event":"lead","order_id":")" + std::string(129, 'o') + "\"}",
       "order_id: is 129 characters long; the limit is 128"},
      {kJson, "{" + c + R"("event":"lead","order_id":"A\u0001B"})",
       "order_id: 'A\\x01B' contains a control character (at byte 1)"},
      {kJson, "{" + c + R"("event":"lead","order_id":"A\tB"})",
       "order_id: 'A\\x09B' contains a control character"},
      {kJson, "{" + c + R"("event":"lead","order_id":10.5})",
       "order_id: expected a string or an integer"},
      {kJson, "{" + c + R"("event":"lead","order_id":false})",
       "order_id: expected a string or a number, got a boolean"},
      {kForm, "code=summer&event=lead&order_id=A%0AB",
       "order_id: 'A\\x0aB' contains a control character"},
      {kForm, "code=summer&event=lead&order_id=A%C2%85B",
       "order_id: 'A\\xc2\\x85B' contains a control"},
      {kForm, "code=summer&event=lead&order_id=A%FFB",
       "order_id: is not valid UTF-8 after percent-decoding (at byte 1)"},
      {kForm, "code=summer&event=lead&order_id=%C3", "order_id: is not valid UTF-8"},
      {kForm, "code=summer&event=lead&order_id=%ED%A0%80",
       "order_id: is not valid UTF-8"},  // a surrogate
      {kForm, "code=summer&event=lead&order_id=%C0%AF",
       "order_id: is not valid UTF-8"},  // overlong
      {kForm, "code=summer&event=lead&order_id=A%2", "order_id: invalid percent escape '%2'"},
      {kForm, "code=summer&event=lead&order_id=A%zzB", "order_id: invalid percent escape '%zz'"},
      {kForm, "code=summer&event=lead&order_id=1&order_id=2", "order_id: appears more than once"},
      // at
      {kJson, "{" + c + R"("event":"lead","at":"2026-11-30T10:00:00"})",
       "at: '2026-11-30T10:00:00' is not a time: it has no time zone offset"},
      {kJson, "{" + c + R"("event":"lead","at":"yesterday"})", "at: 'yesterday' is not a time"},
      {kJson, "{" + c + R"("event":"lead","at":"2026-02-30T10:00:00Z"})", "there is no such day"},
      {kJson, "{" + c + R"("event":"lead","at":1764470000000})",
       "at: the number is too large for unix seconds (milliseconds?"},
      {kJson, "{" + c + R"("event":"lead","at":-5})", "at: the number is not a time"},
      {kJson, "{" + c + R"("event":"lead","at":[1]})",
       "at: expected a string or a number, got an array"},
      {kForm, "code=summer&event=lead&at=1764470000000",
       "at: '1764470000000' is too large for unix seconds"},
      {kForm, "code=summer&event=lead&at=" + std::string(200, '9'), "at: '9999"},
      {kForm, "code=summer&event=lead&at=2026-11-30T10:00:00Z%0A",
       "at: '2026-11-30T10:00:00Z\\x0a' is not a time"},
      {kForm, "code=summer&event=lead&at=" + std::string(100, 'T'), "at: 'TTTT"},
  };
  for (const auto& [type, body, expected] : cases) {
    EXPECT_THAT(error_of(type, body), HasSubstr(expected)) << type << " " << body;
  }
}

TEST(Conversion, DuplicateKnownJsonFieldsAreRefused) {
  EXPECT_THAT(error_of(kJson, R"({"code":"summer","event":"lead","code":"winter"})"),
              HasSubstr("code: appears more than once"));
  // Unknown duplicates and nested repeats of known names are fine.
  EXPECT_TRUE(parse_conversion(
      kJson, R"({"code":"summer","event":"lead","x":1,"x":2,"meta":{"code":1},"y":{"code":2}})"));
}

TEST(Conversion, BadJsonBodies) {
  EXPECT_THAT(error_of(kJson, ""), HasSubstr("not valid JSON (at byte 1)"));
  EXPECT_THAT(error_of(kJson, R"({"code":"summer",)"), HasSubstr("not valid JSON"));
  EXPECT_THAT(error_of(kJson, R"({"code":"summer"} x)"), HasSubstr("not valid JSON (at byte 19)"));
  EXPECT_THAT(error_of(kJson, R"({"code":"summer","event":"lead","value":1e400})"),
              HasSubstr("not valid JSON"));
  EXPECT_THAT(error_of(kJson, R"(["code","summer"])"), HasSubstr("must be an object"));
  EXPECT_THAT(error_of(kJson, R"("summer")"), HasSubstr("must be an object, like {\"click\""));
  EXPECT_THAT(error_of(kJson, R"("summer")"), HasSubstr("; it is a JSON string"));
  // Comments are not JSON.
  EXPECT_THAT(error_of(kJson, "{\"code\":\"summer\" /* x */}"), HasSubstr("not valid JSON"));
}

TEST(Conversion, InvalidUtf8IsRefused) {
  EXPECT_THAT(error_of(kJson, "{\"code\":\"summer\",\"event\":\"lead\",\"order_id\":\"A\xFF\"}"),
              HasSubstr("not valid UTF-8 (at byte 45)"));
  // Even in a field that would be ignored: the body as a whole is not JSON text.
  EXPECT_THAT(error_of(kJson, "{\"code\":\"summer\",\"event\":\"lead\",\"x\":\"\xC3\x28\"}"),
              HasSubstr("not valid UTF-8"));
  EXPECT_THAT(error_of(kForm, "code=summer&event=lead&order_id=%E2%82"),
              HasSubstr("order_id: is not valid UTF-8"));
  EXPECT_THAT(error_of(kForm, "code=summer&event=lead&order_id=\xF5\x80\x80\x80"),
              HasSubstr("order_id: is not valid UTF-8"));
  EXPECT_THAT(error_of(kForm, "click=ab%FFcd&event=lead"), HasSubstr("click: is not valid UTF-8"));
}

TEST(Conversion, BadParameterNames) {
  EXPECT_THAT(error_of(kForm, "code=summer&event=lead&%zz=1"),
              HasSubstr("a parameter name '%zz' has an invalid percent escape"));
}

TEST(Conversion, HugeBodiesAreRefused) {
  const std::string head = R"({"code":"summer","event":"lead","pad":")";
  std::string at_limit = head + std::string(65536 - head.size() - 2, 'p') + "\"}";
  ASSERT_EQ(at_limit.size(), 65536u);
  EXPECT_TRUE(parse_conversion(kJson, at_limit));
  const std::string huge = head + std::string(10 << 20, 'p') + "\"}";
  EXPECT_THAT(error_of(kJson, huge), HasSubstr("the body is " + std::to_string(huge.size()) +
                                               " bytes; the limit is 65536 (64 KiB)"));
  EXPECT_THAT(error_of(kForm, "code=summer&event=lead&pad=" + std::string(65536, 'p')),
              HasSubstr("64 KiB"));
}

TEST(Conversion, DeepNestingIsHarmless) {
  const std::string deep = R"({"code":"summer","event":"lead","x":)" + std::string(30000, '[') +
                           std::string(30000, ']') + "}";
  EXPECT_TRUE(parse_conversion(kJson, deep));
}

TEST(Conversion, MessagesEchoAtMostAboutSixtyFourBytes) {
  struct Case {
    std::string type;
    std::string body;
    char filler;  // repeated 5000 times in the request
  };
  const std::string json(kJson), form(kForm);
  const std::vector<Case> cases = {
      {json, R"({"click":")" + std::string(5000, 'a') + R"(","event":"lead"})", 'a'},
      {json, R"({"code":"summer","event":")" + std::string(5000, 'E') + R"("})", 'e'},
      {json, R"({"code":"summer","event":")" + std::string(5000, 'E') + R"("})", 'E'},
      {form, "code=summer&event=lead&value=" + std::string(5000, '1') + "x&currency=EUR", '1'},
      {form, "code=summer&event=lead&value=1&currency=" + std::string(5000, 'c'), 'c'},
      {form, "code=summer&event=lead&value=1&currency=" + std::string(5000, 'c'), 'C'},
      {form, "code=summer&event=lead&order_id=" + std::string(5000, '\x01'), '\x01'},
      {form, "code=summer&event=lead&at=" + std::string(5000, '1'), '1'},
      {form, "code=summer&event=lead&at=" + std::string(5000, 'Z'), 'Z'},
      {form, "code=summer&event=lead&order_id=A%" + std::string(5000, 'z'), 'z'},
      {"text/" + std::string(5000, 'x'), "{}", 'x'},
  };
  for (const auto& [type, body, filler] : cases) {
    const std::string message = error_of(type, body);
    EXPECT_NE(message, "(parsed)");
    EXPECT_LT(message.size(), 400u) << message;
    EXPECT_THAT(message, Not(HasSubstr(std::string(70, filler)))) << message;
  }
}

TEST(Conversion, EchoesAreCutOnACharacterBoundary) {
  std::string event;
  for (int i = 0; i < 40; ++i) event += "é";  // 80 bytes
  const std::string message = error_of(kJson, R"({"code":"summer","event":")" + event + "\"}");
  EXPECT_THAT(message, HasSubstr("... (80 bytes)"));
  // 32 whole characters, not 31 and a half.
  EXPECT_THAT(message, HasSubstr("'" + event.substr(0, 64) + "'"));
}

// ---- Pixel
// ---------------------------------------------------------------------------------------

const std::string kPixelFields =
    "source=shop&click=rfc_abc123&event=purchase&value=49.9&currency=EUR&order_id=A-1001";

TEST(Pixel, AcceptsASignedQuery) {
  auto parsed = parse_pixel(sign_pixel(kSecret, kNow, kPixelFields), kSecret, kNow);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->click_id, "rfc_abc123");
  EXPECT_EQ(parsed->event, "purchase");
  EXPECT_DOUBLE_EQ(parsed->value, 49.9);
  EXPECT_EQ(parsed->currency, "EUR");
  EXPECT_EQ(parsed->order_id, "A-1001");
  EXPECT_FALSE(parsed->at_ms);
}

TEST(Pixel, SigMayStandAnywhere) {
  const std::string query = kPixelFields + "&t=" + std::to_string(kNow);
  const std::string sig = "sig=" + hmac_sha256_hex(kSecret, std::to_string(kNow) + "." + query);
  EXPECT_TRUE(parse_pixel(sig + "&" + query, kSecret, kNow));
  const std::size_t middle = query.find("&event");
  EXPECT_TRUE(
      parse_pixel(query.substr(0, middle) + "&" + sig + query.substr(middle), kSecret, kNow));
}

TEST(Pixel, ReorderingTheOtherParametersBreaksTheSignature) {
  const std::string query = kPixelFields + "&t=" + std::to_string(kNow);
  const std::string sig = hmac_sha256_hex(kSecret, std::to_string(kNow) + "." + query);
  const std::string reordered = "t=" + std::to_string(kNow) + "&" + kPixelFields + "&sig=" + sig;
  auto result = parse_pixel(reordered, kSecret, kNow);
  ASSERT_FALSE(result);
  EXPECT_THAT(result.error().message, HasSubstr("does not match"));
  EXPECT_THAT(result.error().message, HasSubstr("without its sig parameter"));
}

TEST(Pixel, PercentEncodingIsSignedAsSent) {
  const std::string signed_query =
      sign_pixel(kSecret, kNow, "code=summer&event=lead&order_id=A%2B1001+x%2fy");
  auto parsed = parse_pixel(signed_query, kSecret, kNow);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->order_id, "A+1001 x/y");
  // The same text encoded differently is a different message.
  std::string reencoded = signed_query;
  reencoded.replace(reencoded.find("%2f"), 3, "%2F");
  EXPECT_FALSE(parse_pixel(reencoded, kSecret, kNow));
}

TEST(Pixel, TamperedExpiredAndFuture) {
  std::string tampered = sign_pixel(kSecret, kNow, kPixelFields);
  tampered.replace(tampered.find("49.9"), 4, "99.9");
  auto result = parse_pixel(tampered, kSecret, kNow);
  ASSERT_FALSE(result);
  EXPECT_THAT(result.error().message, HasSubstr("the pixel's sig does not match"));

  result = parse_pixel(sign_pixel(kSecret, kNow - 3600, kPixelFields), kSecret, kNow);
  ASSERT_FALSE(result);
  EXPECT_THAT(result.error().message, HasSubstr("3600 s in the past; the window is 300 s"));

  result = parse_pixel(sign_pixel(kSecret, kNow + 301, kPixelFields), kSecret, kNow);
  ASSERT_FALSE(result);
  EXPECT_THAT(result.error().message, HasSubstr("301 s in the future"));

  result = parse_pixel(sign_pixel("other", kNow, kPixelFields), kSecret, kNow);
  ASSERT_FALSE(result);
  EXPECT_THAT(result.error().message, Not(HasSubstr(kSecret)));

  result = parse_pixel(sign_pixel("", kNow, kPixelFields), "", kNow);
  ASSERT_FALSE(result);
  EXPECT_THAT(result.error().message, HasSubstr("no secret is configured"));
}

TEST(Pixel, MalformedQueries) {
  const std::string hex(64, 'a');
  const std::string t = "t=" + std::to_string(kNow);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {kPixelFields + "&" + t, "sig is missing"},
      {kPixelFields + "&sig=" + hex, "t is missing"},
      {kPixelFields + "&" + t + "&sig=" + hex + "&sig=" + hex, "sig appears twice"},
      {kPixelFields + "&" + t + "&" + t + "&sig=" + hex, "t appears twice"},
      {kPixelFields + "&t=soon&sig=" + hex, "t='soon' is not unix seconds"},
      {kPixelFields + "&t=%zz&sig=" + hex, "t has an invalid percent escape"},
      {kPixelFields + "&" + t + "&sig=" + hex.substr(1), "sig is not 64 hex digits"},
      {kPixelFields + "&" + t + "&sig=", "sig is not 64 hex digits"},
      {kPixelFields + "&" + t + "&%g=1&sig=" + hex, "a parameter name '%g'"},
      {"", "sig is missing"},
  };
  for (const auto& [query, expected] : cases) {
    auto result = parse_pixel(query, kSecret, kNow);
    ASSERT_FALSE(result) << query;
    EXPECT_THAT(result.error().message, HasSubstr("the pixel's query is malformed")) << query;
    EXPECT_THAT(result.error().message, HasSubstr(expected)) << query;
  }
  EXPECT_THAT(parse_pixel(std::string(70000, 'x'), kSecret, kNow).error().message,
              HasSubstr("the pixel's query is 70000 bytes; the limit is 65536 (64 KiB)"));
}

TEST(Pixel, FieldErrorsComeAfterTheSignature) {
  auto result = parse_pixel(sign_pixel(kSecret, kNow, "code=summer&event=buy+now"), kSecret, kNow);
  ASSERT_FALSE(result);
  EXPECT_THAT(result.error().message, HasSubstr("event: 'buy now' is not an event name"));
  // Unsigned garbage is refused for its signature, before its fields are looked at.
  result = parse_pixel("event=buy+now&t=" + std::to_string(kNow) + "&sig=" + std::string(64, '0'),
                       kSecret, kNow);
  ASSERT_FALSE(result);
  EXPECT_THAT(result.error().message, HasSubstr("does not match"));
}

TEST(Pixel, EmptyPiecesAreKeptInTheSignedText) {
  const std::string query = "code=summer&&event=lead&t=" + std::to_string(kNow) + "&";
  const std::string sig = hmac_sha256_hex(kSecret, std::to_string(kNow) + "." + query);
  EXPECT_TRUE(parse_pixel(query + "&sig=" + sig, kSecret, kNow));
}

TEST(Pixel, Source) {
  EXPECT_EQ(pixel_source("click=abcd&event=lead"), "default");
  EXPECT_EQ(pixel_source(""), "default");
  EXPECT_EQ(pixel_source("source=&event=lead"), "default");
  EXPECT_EQ(pixel_source("event=lead&source=shop"), "shop");
  EXPECT_EQ(pixel_source("source=my%2Dshop_2"), "my-shop_2");
  EXPECT_EQ(pixel_source("%73ource=shop"), "shop");
  // Invalid or ambiguous: a name no secret has.
  EXPECT_EQ(pixel_source("source=a.b"), "");
  EXPECT_EQ(pixel_source("source=..%2Fetc"), "");
  EXPECT_EQ(pixel_source("source=%zz"), "");
  EXPECT_EQ(pixel_source("source=" + std::string(65, 's')), "");
  EXPECT_EQ(pixel_source("source=a&source=b"), "");
}

}  // namespace
}  // namespace reelflow::track
