#include "srt.hpp"

#include <gtest/gtest.h>

namespace reelflow::video::overlay {
namespace {

TEST(Srt, ParsesAGoodFile) {
  const std::string text =
      "1\n00:00:01,000 --> 00:00:02,500\nHello\n\n"
      "2\n00:00:03,250 --> 00:00:05,000\nTwo lines\nof text\n\n"
      "3\n01:02:03,004 --> 01:02:04,000\n<i>last</i>\n";
  auto cues = parse_srt(text, "'a.srt'");
  ASSERT_TRUE(cues) << cues.error();
  ASSERT_EQ(cues->size(), 3u);
  EXPECT_DOUBLE_EQ((*cues)[0].start, 1.0);
  EXPECT_DOUBLE_EQ((*cues)[0].end, 2.5);
  EXPECT_EQ((*cues)[0].text, "Hello");
  EXPECT_DOUBLE_EQ((*cues)[1].start, 3.25);
  EXPECT_EQ((*cues)[1].text, "Two lines\nof text");
  EXPECT_NEAR((*cues)[2].start, 3723.004, 1e-9);
  EXPECT_EQ((*cues)[2].text, "<i>last</i>");
}

TEST(Srt, ParsesCrlfWithBom) {
  const std::string text =
      "\xEF\xBB\xBF"
      "1\r\n00:00:00,500 --> 00:00:01,000\r\n中文字幕\r\n\r\n"
      "2\r\n00:00:01,000 --> 00:00:02,000\r\nsecond\r\nline\r\n";
  auto cues = parse_srt(text, "'b.srt'");
  ASSERT_TRUE(cues) << cues.error();
  ASSERT_EQ(cues->size(), 2u);
  EXPECT_DOUBLE_EQ((*cues)[0].start, 0.5);
  EXPECT_EQ((*cues)[0].text, "中文字幕");
  EXPECT_EQ((*cues)[1].text, "second\nline");
}

TEST(Srt, ForgivesMissingBlankLinesNumbersAndDotMilliseconds) {
  const std::string text =
      "1\n00:00:01.000 --> 00:00:02.000 X1:10 X2:20 Y1:5 Y2:6\nfirst\n"
      "2\n00:00:02.5 --> 00:00:03,75\nsecond\n"
      "00:00:04,000 --> 00:00:05,000\nthird\n\n\n";
  auto cues = parse_srt(text, "'c.srt'");
  ASSERT_TRUE(cues) << cues.error();
  ASSERT_EQ(cues->size(), 3u);
  EXPECT_EQ((*cues)[0].text, "first");
  EXPECT_DOUBLE_EQ((*cues)[1].start, 2.5);
  EXPECT_DOUBLE_EQ((*cues)[1].end, 3.75);
  EXPECT_EQ((*cues)[1].text, "second");
  EXPECT_DOUBLE_EQ((*cues)[2].start, 4.0);
  EXPECT_EQ((*cues)[2].text, "third");
}

TEST(Srt, BadTimestampNamesTheLine) {
  const std::string text =
      "1\n00:00:01,000 --> 00:00:02,000\nok\n\n"
      "2\n00:00:03,000 --> 00:0x:04,000\nbroken\n";
  auto cues = parse_srt(text, "'talk.srt'");
  ASSERT_FALSE(cues);
  EXPECT_NE(cues.error().find("'talk.srt'"), std::string::npos) << cues.error();
  EXPECT_NE(cues.error().find("bad timestamp at line 6"), std::string::npos) << cues.error();

  auto backwards = parse_srt("1\n00:00:05,000 --> 00:00:04,000\nx\n", "'d.srt'");
  ASSERT_FALSE(backwards);
  EXPECT_NE(backwards.error().find("line 2"), std::string::npos) << backwards.error();

  auto no_arrow = parse_srt("1\n00:00:05,000 - 00:00:06,000\nx\n", "'e.srt'");
  ASSERT_FALSE(no_arrow);
  EXPECT_NE(no_arrow.error().find("line 2"), std::string::npos) << no_arrow.error();
}

TEST(Srt, NoCuesIsAnError) {
  auto empty = parse_srt("\xEF\xBB\xBF\r\n\r\n", "'empty.srt'");
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().find("'empty.srt' has no captions"), std::string::npos) << empty.error();
}

TEST(Srt, Times) {
  EXPECT_DOUBLE_EQ(*parse_srt_time("00:00:00,000"), 0.0);
  EXPECT_DOUBLE_EQ(*parse_srt_time("10:00:00.1"), 36000.1);
  EXPECT_DOUBLE_EQ(*parse_srt_time("01:30,250"), 90.25);
  EXPECT_FALSE(parse_srt_time("00:60:00,000"));
  EXPECT_FALSE(parse_srt_time("00:00:00,0000"));
  EXPECT_FALSE(parse_srt_time("a:00:00,000"));
  EXPECT_FALSE(parse_srt_time(""));
}

TEST(Srt, TextBecomesAssText) {
  EXPECT_EQ(to_ass_text("a\nb"), "a\\Nb");
  EXPECT_EQ(to_ass_text("<i>x</i> <B>y</B>"), "{\\i1}x{\\i0} {\\b1}y{\\b0}");
  EXPECT_EQ(to_ass_text("<font color=\"#ff0000\">red</font>"), "red");
  EXPECT_EQ(to_ass_text("{\\an8}top"), "top");
  EXPECT_EQ(to_ass_text("{braces}"), "\\{braces\\}");
  EXPECT_EQ(to_ass_text("a < b"), "a < b");
  EXPECT_EQ(to_ass_text("C:\\new"), "C:\\\xE2\x81\xA0new");
}

TEST(Srt, CjkTextGetsZeroWidthBreakOpportunities) {
  const std::string gap = "{\\fscx0} {\\fscx}";
  EXPECT_EQ(to_ass_text("中文，字"), "中" + gap + "文，" + gap + "字");  // none before "，"
  EXPECT_EQ(to_ass_text("「春季」Sale"), "「春" + gap + "季」" + gap + "Sale");
  EXPECT_EQ(to_ass_text("新 品\n上市"), "新 品\\N上" + gap + "市");
  EXPECT_EQ(to_ass_text("plain words"), "plain words");
}

}  // namespace
}  // namespace reelflow::video::overlay
