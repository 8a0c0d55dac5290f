// The funnel report's renderings: terminal text (alignment with CJK keys, nulls, currencies),
// RFC 4180 CSV, and the self-contained HTML page (escaping, charts, no external references).
#include "track/report_render.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

using nlohmann::json;
using reelflow::track::render_report_csv;
using reelflow::track::render_report_html;
using reelflow::track::render_report_text;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

json funnel(const std::string& key, long long views, long long clicks, long long conversions,
            double revenue) {
  json row = {{"key", key},
              {"posts", 1},
              {"views", views},
              {"likes", views / 20},
              {"comments", views / 200},
              {"shares", views / 300},
              {"clicks_total", clicks + 3},
              {"clicks_human", clicks},
              {"clicks_bot", 2},
              {"clicks_duplicate", 1},
              {"conversions", conversions},
              {"revenue", revenue}};
  row["ctr"] = views > 0 ? json(static_cast<double>(clicks) / static_cast<double>(views)) : json();
  row["cvr"] =
      clicks > 0 ? json(static_cast<double>(conversions) / static_cast<double>(clicks)) : json();
  row["rpm"] = views > 0 ? json(revenue * 1000 / static_cast<double>(views)) : json();
  return row;
}

json report_with(const json& rows, const std::string& by = "video") {
  json report = {{"generated_at", "2026-11-30T10:00:00Z"},
                 {"since", "2026-11-01"},
                 {"campaign", "launch"},
                 {"by", by},
                 {"currency", "EUR"},
                 {"rows", rows},
                 {"platforms", json::array()},
                 {"daily", json::array()},
                 {"top_videos", json::array()}};
  report["totals"] = funnel("", 0, 0, 0, 0);
  long long views = 0, clicks = 0, conversions = 0;
  double revenue = 0;
  for (const auto& row : rows) {
    views += row["views"].get<long long>();
    clicks += row["clicks_human"].get<long long>();
    conversions += row["conversions"].get<long long>();
    revenue += row["revenue"].get<double>();
  }
  report["totals"] = funnel("", views, clicks, conversions, revenue);
  return report;
}

json sample_report() {
  json report = report_with(
      json::array({funnel("youtube", 120000, 1500, 60, 2994.0),
                   funnel("douyin", 90000, 800, 20, 998.0), funnel("tiktok", 40000, 0, 0, 0)}),
      "platform");
  report["platforms"] = report["rows"];
  json video = funnel("/srv/out/spring/clip-1.mp4", 50000, 700, 30, 1497.0);
  video["title"] = "春节特辑：新品发布";
  report["top_videos"] = json::array({video});
  for (int day = 1; day <= 30; ++day) {
    char date[16];
    std::snprintf(date, sizeof date, "2026-11-%02d", day);
    report["daily"].push_back(
        {{"day", date}, {"clicks_human", 70 + day}, {"conversions", day % 4}, {"revenue", 10.5}});
  }
  return report;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Terminal columns, counted independently of the renderer: the CJK ideographs and fullwidth
// punctuation in these tests are two columns, every other code point one.
std::size_t columns(const std::string& text) {
  std::size_t width = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    const unsigned char lead = static_cast<unsigned char>(text[pos]);
    std::size_t length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    char32_t code_point = 0;
    if (length == 3) {
      code_point = ((lead & 0x0F) << 12) | ((text[pos + 1] & 0x3F) << 6) | (text[pos + 2] & 0x3F);
    }
    const bool wide = (code_point >= 0x4E00 && code_point <= 0x9FFF) ||
                      (code_point >= 0xFF00 && code_point <= 0xFF60) ||
                      (code_point >= 0x3000 && code_point <= 0x303F);
    width += wide ? 2 : 1;
    pos += length;
  }
  return width;
}

// The table's lines: from the column header to the totals line.
std::vector<std::string> table_lines(const std::string& text) {
  std::vector<std::string> table;
  bool inside = false;
  for (const auto& line : lines_of(text)) {
    if (line.rfind("Video", 0) == 0 || line.rfind("Platform", 0) == 0) inside = true;
    if (inside) table.push_back(line);
    if (line.rfind("Total", 0) == 0) break;
  }
  return table;
}

// A small RFC 4180 reader for checking what the renderer wrote.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> records(1);
  std::string field;
  bool quoted = false;
  for (std::size_t pos = 0; pos < text.size(); ++pos) {
    const char c = text[pos];
    if (quoted) {
      if (c == '"' && pos + 1 < text.size() && text[pos + 1] == '"') {
        field += '"';
        ++pos;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      records.back().push_back(field);
      field.clear();
    } else if (c == '\r' && pos + 1 < text.size() && text[pos + 1] == '\n') {
      records.back().push_back(field);
      field.clear();
      records.emplace_back();
      ++pos;
    } else {
      field += c;
    }
  }
  if (records.back().empty()) records.pop_back();
  return records;
}

std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t found = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
    ++found;
  }
  return found;
}

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// ---------------------------------------------------------------------------------------------

TEST(ReportText, AlignsColumnsWithChineseTitlesAndPaths) {
  const json report = report_with(
      json::array({funnel("春节特辑：新品发布", 1234567, 5000, 120, 5988.0),
                   funnel("youtube", 900, 30, 1, 49.9),
                   funnel("/srv/reelflow/out/2026/november/spring-campaign/clip-0001-final-v2.mp4",
                          10, 1, 0, 0)}));
  const std::string text = render_report_text(report);
  const auto table = table_lines(text);
  ASSERT_EQ(table.size(), 6u) << text;  // header, 3 rows, rule, total

  // Every line is as wide as the header: numeric columns are right-aligned to the same edge.
  for (const auto& line : table) EXPECT_EQ(columns(line), columns(table[0])) << line;
  // The "Views" column ends at the same column on every row.
  const std::size_t views_end = columns(table[0].substr(0, table[0].find("Views") + 5));
  EXPECT_EQ(columns(table[1].substr(0, table[1].find("1,234,567") + 9)), views_end) << table[1];
  EXPECT_EQ(columns(table[2].substr(0, table[2].find("900") + 3)), views_end) << table[2];

  EXPECT_THAT(table[1], HasSubstr("春节特辑：新品发布"));
  // The long path keeps its file name and loses its front.
  EXPECT_THAT(table[3], HasSubstr("…"));
  EXPECT_THAT(table[3], HasSubstr("…/clip-0001-final-v2.mp4"));
  EXPECT_THAT(table[3], Not(HasSubstr("/srv/reelflow")));
}

TEST(ReportText, LongChineseTitleIsCutAtAWholeCharacter) {
  const std::string title = "这是一个非常非常长的中文视频标题用来测试截断是否正确处理双宽度字符";
  const std::string text = render_report_text(
      report_with(json::array({funnel(title, 100, 10, 1, 9.9), funnel("a", 1, 0, 0, 0)})));
  const auto table = table_lines(text);
  ASSERT_EQ(table.size(), 5u) << text;
  EXPECT_THAT(table[1], HasSubstr("…"));
  EXPECT_THAT(table[1], HasSubstr("这是一个"));
  for (const auto& line : table) EXPECT_EQ(columns(line), columns(table[0])) << line;
}

TEST(ReportText, HeaderNamesPeriodCampaignGroupingAndCurrency) {
  const std::string text = render_report_text(sample_report());
  const std::string header = lines_of(text).front();
  EXPECT_THAT(header, AllOf(HasSubstr("by platform"), HasSubstr("campaign launch"),
                            HasSubstr("since 2026-11-01"), HasSubstr("EUR")));
  EXPECT_THAT(text, HasSubstr("Revenue (EUR)"));
  EXPECT_THAT(text, HasSubstr("2,994.00"));  // money: two decimals, thousands separator
  EXPECT_THAT(text, HasSubstr("120,000"));
}

TEST(ReportText, HeaderSaysAllCampaignsAndAllTimeWhenUnset) {
  json report = sample_report();
  report["since"] = nullptr;
  report["campaign"] = nullptr;
  const std::string header = lines_of(render_report_text(report)).front();
  EXPECT_THAT(header, AllOf(HasSubstr("all campaigns"), HasSubstr("all time")));
}

TEST(ReportText, PercentagesWithOneOrTwoDecimals) {
  json row = funnel("youtube", 1200, 50, 4, 199.6);
  row["ctr"] = 0.041666;
  row["cvr"] = 0.125;
  const std::string text = render_report_text(report_with(json::array({row})));
  EXPECT_THAT(text, HasSubstr("4.17%"));
  EXPECT_THAT(text, HasSubstr("12.5%"));
}

TEST(ReportText, NullRatiosShowADash) {
  const std::string text =
      render_report_text(report_with(json::array({funnel("tiktok", 0, 0, 0, 0)})));
  const auto table = table_lines(text);
  ASSERT_GE(table.size(), 2u) << text;
  EXPECT_EQ(occurrences(table[1], "–"), 3u) << table[1];  // CTR, CVR, RPM
  EXPECT_THAT(text, Not(HasSubstr("nan")));
  EXPECT_THAT(text, Not(HasSubstr("null")));
}

TEST(ReportText, MixedCurrenciesShowRevenueWithoutACode) {
  json report = report_with(json::array({funnel("youtube", 1000, 50, 3, 120.0)}));
  report["currency"] = nullptr;
  const std::string text = render_report_text(report);
  EXPECT_THAT(lines_of(text).front(), HasSubstr("mixed currencies"));
  EXPECT_THAT(text, HasSubstr("120.00"));
  EXPECT_THAT(text, Not(HasSubstr("EUR")));
  EXPECT_THAT(text, Not(HasSubstr("Revenue (")));
}

TEST(ReportText, NoCurrencyAndNoRevenueIsNotMixed) {
  json report = report_with(json::array({funnel("youtube", 1000, 50, 0, 0)}));
  report["currency"] = nullptr;
  EXPECT_THAT(render_report_text(report), Not(HasSubstr("mixed")));
}

TEST(ReportText, NoRowsSaysSoWithAHint) {
  const std::string text = render_report_text(report_with(json::array()));
  EXPECT_THAT(text, HasSubstr("No posts or clicks yet in this period."));
  EXPECT_THAT(text, HasSubstr("--since"));
  EXPECT_THAT(text, Not(HasSubstr("Total")));
}

TEST(ReportText, FootnoteCountsBotAndDuplicateClicks) {
  const std::string text =
      render_report_text(report_with(json::array({funnel("youtube", 1000, 50, 3, 120.0)})));
  EXPECT_THAT(text, HasSubstr("2 bot and 1 duplicate clicks left out"));
}

TEST(ReportText, TerminalControlSequencesInKeysAreDefused) {
  const std::string text = render_report_text(
      report_with(json::array({funnel("evil\x1b[2J\x1b]0;owned\x07title\nnext", 10, 1, 0, 0)})));
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_EQ(text.find('\x07'), std::string::npos);
  const auto table = table_lines(text);
  ASSERT_EQ(table.size(), 4u) << text;  // the newline did not split the row
  EXPECT_THAT(table[1], HasSubstr("title next"));
}

TEST(ReportRender, MalformedReportsRenderWithoutThrowing) {
  for (const json& report :
       {json(), json::array(), json::object(), json{{"rows", "not an array"}},
        json{{"rows", json::array({1, "x", json::object()})}, {"totals", 3}},
        json{{"daily", json::array({json{{"day", 5}, {"clicks_human", "many"}}})}},
        json{{"rows", json::array({json{{"key", "x"}, {"views", -5}, {"ctr", "high"}}})}}}) {
    EXPECT_NO_THROW({
      render_report_text(report);
      render_report_csv(report);
      render_report_html(report);
    }) << report.dump();
  }
}

// ---------------------------------------------------------------------------------------------

TEST(ReportCsv, HeaderAndOneRecordPerRowWithCrlf) {
  const std::string csv = render_report_csv(sample_report());
  const auto records = parse_csv(csv);
  ASSERT_EQ(records.size(), 4u) << csv;
  EXPECT_THAT(records[0], ::testing::ElementsAre("key", "posts", "views", "likes", "comments",
                                                 "shares", "clicks_total", "clicks_human",
                                                 "clicks_bot", "clicks_duplicate", "conversions",
                                                 "revenue", "ctr", "cvr", "rpm", "currency"));
  for (const auto& record : records) EXPECT_EQ(record.size(), records[0].size());
  EXPECT_EQ(occurrences(csv, "\r\n"), 4u);
  EXPECT_EQ(occurrences(csv, "\n"), 4u);
}

TEST(ReportCsv, QuotesCommasQuotesAndLineBreaks) {
  const std::vector<std::string> keys = {"plain", "a,b", "say \"hi\"", "line one\nline two",
                                         "春节, \"特辑\"\r\n"};
  json rows = json::array();
  for (const auto& key : keys) rows.push_back(funnel(key, 100, 10, 1, 5));
  const std::string csv = render_report_csv(report_with(rows));
  EXPECT_THAT(csv, HasSubstr("\r\nplain,"));
  EXPECT_THAT(csv, HasSubstr("\r\n\"a,b\","));
  EXPECT_THAT(csv, HasSubstr("\r\n\"say \"\"hi\"\"\","));
  const auto records = parse_csv(csv);
  ASSERT_EQ(records.size(), keys.size() + 1) << csv;
  for (std::size_t index = 0; index < keys.size(); ++index) {
    EXPECT_EQ(records[index + 1][0], keys[index]);
    EXPECT_EQ(records[index + 1].size(), records[0].size());
  }
}

TEST(ReportCsv, AKeyASpreadsheetWouldRunAsAFormulaIsDefused) {
  const std::vector<std::string> keys = {"=HYPERLINK(\"http://evil.example\",\"x\")", "+1+1",
                                         "-2+3", "@SUM(A1)", "\tTab", "cover-a", "a=b"};
  json rows = json::array();
  for (const auto& key : keys) rows.push_back(funnel(key, 100, 10, 1, 5));
  const auto records = parse_csv(render_report_csv(report_with(rows)));
  ASSERT_EQ(records.size(), keys.size() + 1);
  EXPECT_EQ(records[1][0], "'=HYPERLINK(\"http://evil.example\",\"x\")");
  EXPECT_EQ(records[2][0], "'+1+1");
  EXPECT_EQ(records[3][0], "'-2+3");
  EXPECT_EQ(records[4][0], "'@SUM(A1)");
  EXPECT_EQ(records[5][0], "'\tTab");
  EXPECT_EQ(records[6][0], "cover-a") << "only a formula's first character counts";
  EXPECT_EQ(records[7][0], "a=b");
}

TEST(ReportCsv, RatiosAsFractionsEmptyWhenNullDotDecimals) {
  json row = funnel("youtube", 1200, 50, 4, 1234.5);
  row["ctr"] = 0.0416666;
  row["cvr"] = 0.08;
  row["rpm"] = 1028.75;
  const auto records =
      parse_csv(render_report_csv(report_with(json::array({row, funnel("tiktok", 0, 0, 0, 0)}))));
  ASSERT_EQ(records.size(), 3u);
  const auto column = [&](const std::string& name) {
    return static_cast<std::size_t>(std::find(records[0].begin(), records[0].end(), name) -
                                    records[0].begin());
  };
  EXPECT_EQ(records[1][column("views")], "1200");  // no thousands separators in data
  EXPECT_EQ(records[1][column("revenue")], "1234.50");
  EXPECT_EQ(records[1][column("ctr")], "0.041667");
  EXPECT_EQ(records[1][column("cvr")], "0.08");
  EXPECT_EQ(records[1][column("rpm")], "1028.75");
  EXPECT_EQ(records[1][column("currency")], "EUR");
  EXPECT_EQ(records[2][column("ctr")], "");
  EXPECT_EQ(records[2][column("cvr")], "");
  EXPECT_EQ(records[2][column("rpm")], "");
}

TEST(ReportCsv, EmptyReportIsTheHeaderOnly) {
  const auto records = parse_csv(render_report_csv(report_with(json::array())));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0][0], "key");
}

// ---------------------------------------------------------------------------------------------

TEST(ReportHtml, EscapesHostileTitlesAndKeys) {
  json report = sample_report();
  const std::string hostile = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>&amp;'";
  json video = funnel("/srv/out/<b>clip</b>.mp4", 100, 10, 1, 5);
  video["title"] = hostile;
  report["top_videos"] = json::array({video});
  report["rows"][0]["key"] = hostile;
  report["platforms"][0]["key"] = hostile;
  report["campaign"] = "</title><script>x()</script>";
  report["daily"][0]["day"] = "<svg onload=alert(3)>";
  const std::string html = render_report_html(report);
  const std::string lower = lowercase(html);
  EXPECT_THAT(lower, Not(HasSubstr("<script")));
  EXPECT_THAT(lower, Not(HasSubstr("<img")));
  EXPECT_THAT(lower, Not(HasSubstr("<b>")));
  EXPECT_THAT(lower, Not(HasSubstr("<svg onload")));
  EXPECT_THAT(lower, Not(HasSubstr("</title><script")));
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img"));
  EXPECT_THAT(html, HasSubstr("&amp;amp;&#39;"));
  EXPECT_THAT(html, HasSubstr("/srv/out/&lt;b&gt;clip&lt;/b&gt;.mp4"));
}

TEST(ReportHtml, HasAnSvgPerChartAndFetchesNothing) {
  const std::string html = render_report_html(sample_report());
  EXPECT_THAT(html, HasSubstr("<svg class=\"chart funnel\""));
  EXPECT_THAT(html, HasSubstr("<svg class=\"chart timeline\""));
  EXPECT_THAT(html, HasSubstr("<svg class=\"bar\""));  // top videos
  EXPECT_EQ(occurrences(html, "<svg"), occurrences(html, "</svg>"));
  const std::string lower = lowercase(html);
  for (const char* reference : {"http:", "https:", "//cdn", "src=", "href=", "url(", "@import",
                                "@font-face", "<script", "<link", "<img", "<iframe"}) {
    EXPECT_THAT(lower, Not(HasSubstr(reference)));
  }
  EXPECT_THAT(html, HasSubstr("font-family: system-ui, \"Noto Sans CJK SC\", sans-serif"));
  EXPECT_THAT(html, HasSubstr("春节特辑：新品发布"));
  EXPECT_THAT(html, HasSubstr("@media print"));
}

TEST(ReportHtml, TotalsCardsCarryTheFunnel) {
  const std::string html = render_report_html(sample_report());
  for (const char* label :
       {">Views<", ">Human clicks<", ">Conversions<", ">Revenue<", ">CTR<", ">CVR<", ">RPM<"}) {
    EXPECT_THAT(html, HasSubstr(label));
  }
  EXPECT_THAT(html, HasSubstr("250,000"));  // total views
  EXPECT_THAT(html, HasSubstr("3,992.00 <small>EUR</small>"));
}

TEST(ReportHtml, TimelineWorksForOneDayAndForNinetyDays) {
  json report = sample_report();
  report["daily"] = json::array(
      {{{"day", "2026-11-30"}, {"clicks_human", 12}, {"conversions", 1}, {"revenue", 49.9}}});
  std::string html = render_report_html(report);
  EXPECT_THAT(html, HasSubstr("<svg class=\"chart timeline\""));
  EXPECT_THAT(html, HasSubstr(">11-30</text>"));
  EXPECT_THAT(html, Not(HasSubstr("<polyline")));  // one point: a dot, no line
  EXPECT_EQ(occurrences(html, "<circle"), 2u);     // the legend's and the day's

  report["daily"] = json::array();
  for (int day = 0; day < 90; ++day) {
    char date[16];
    std::snprintf(date, sizeof date, "2026-%02d-%02d", 9 + day / 30, 1 + day % 30);
    report["daily"].push_back(
        {{"day", date}, {"clicks_human", day * 3}, {"conversions", day / 10}, {"revenue", 0}});
  }
  html = render_report_html(report);
  const std::size_t timeline = html.find("chart timeline");
  const std::string chart = html.substr(timeline, html.find("</svg>", timeline) - timeline);
  const std::regex day_label(">\\d\\d-\\d\\d</text>");
  const auto labels = std::distance(std::sregex_iterator(chart.begin(), chart.end(), day_label),
                                    std::sregex_iterator());
  EXPECT_GE(labels, 5);
  EXPECT_LE(labels, 10);  // no pile of overlapping dates
  EXPECT_THAT(chart, HasSubstr("<polyline"));
  EXPECT_EQ(occurrences(chart, "<circle"), 1u);  // the legend's: 90 dots would blur the line
}

TEST(ReportHtml, FunnelReadableWhenViewsDwarfClicks) {
  json report = sample_report();
  report["platforms"] = json::array({funnel("youtube", 1000000, 100, 1, 10)});
  const std::string html = render_report_html(report);
  // Each stage has its own scale: the clicks bar of the only platform is full length too.
  const std::regex full_bars(
      "width=\"136\" height=\"22\" rx=\"3\" fill=\"#(1f5fa8|0b7a6e|b45309)\"");
  const auto bars = std::distance(std::sregex_iterator(html.begin(), html.end(), full_bars),
                                  std::sregex_iterator());
  EXPECT_EQ(bars, 3);
  EXPECT_THAT(html, HasSubstr("0.01%"));  // CTR between the columns
}

TEST(ReportHtml, EmptyReportSaysNoDataYetInPlaceOfEachChart) {
  json report = report_with(json::array());
  const std::string html = render_report_html(report);
  EXPECT_THAT(html, HasSubstr("No posts or clicks yet in this period."));
  EXPECT_EQ(occurrences(html, "<p class=\"empty\">"), 4u);  // funnel, timeline, top videos, rows
  EXPECT_EQ(occurrences(html, "No data yet"), 3u);
  EXPECT_THAT(html, Not(HasSubstr("<svg")));
  EXPECT_THAT(html, HasSubstr("</html>"));
}

TEST(ReportHtml, MixedCurrenciesAreFlagged) {
  json report = sample_report();
  report["currency"] = nullptr;
  const std::string html = render_report_html(report);
  EXPECT_THAT(html, HasSubstr("mixed currencies"));
  EXPECT_THAT(html, HasSubstr("Mixed currencies"));
  EXPECT_THAT(html, Not(HasSubstr("EUR")));
}

}  // namespace
