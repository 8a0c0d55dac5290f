// Visitor classification over real-world User-Agent strings, written as their vendors publish them
// or as they are widely observed, and the addresses kept for a click (IPv4 /24, IPv6 /48).
//
// Where the strings come from (each group below says which it uses):
// - isbot's fixtures (fixtures/crawlers.yml, fixtures/browsers.yml):
//   https://github.com/omrilotan/isbot
// - Google's crawlers and user-triggered fetchers:
//   https://developers.google.com/search/docs/crawling-indexing/overview-google-crawlers
//   https://developers.google.com/crawling/docs/crawlers-fetchers/google-user-triggered-fetchers
// - Bing: https://www.bing.com/webmasters/help/which-crawlers-does-bing-use-8c184ec0
// - Meta: https://developers.facebook.com/docs/sharing/webmasters/web-crawlers
// - Slack: https://api.slack.com/robots
// - OpenAI: https://platform.openai.com/docs/bots
// - Perplexity: https://docs.perplexity.ai/guides/bots
// - Snap: https://developers.snap.com/robots
// - Iframely: https://iframely.com/docs/about
// - TikTokSpider: https://darkvisitors.com/agents/tiktokspider
// - Apple Messages (iMessage), from a server log: https://peter.upfold.org.uk/blog/2019/02 and
//   https://github.com/donatj/PhpUserAgent/issues/71
// - Google Messages and Microsoft previews: https://github.com/odoo/odoo (link_tracker tests)
// - Telegram's in-app browser suffix: https://github.com/DrKLO/Telegram
// - WeChat's share extension and app tokens: https://github.com/matomo-org/device-detector
// - Douyin, Kuaishou, Bilibili, Weibo, LINE in-app browsers: strings widely observed and logged
//   in public repositories.
#include "track/user_agent.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace reelflow::track {
namespace {

struct Case {
  std::string_view user_agent;
  Visitor kind;
  std::string_view agent;  // empty for people
};

constexpr Visitor kHuman = Visitor::human;
constexpr Visitor kBot = Visitor::bot;
constexpr Visitor kPreview = Visitor::preview;

void expect_classified(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    const Classification got = classify_user_agent(c.user_agent);
    EXPECT_EQ(visitor_name(got.kind), visitor_name(c.kind)) << c.user_agent;
    EXPECT_EQ(got.agent, c.agent) << c.user_agent;
  }
}

// Search, SEO and AI crawlers.
const std::vector<Case> kCrawlers = {
    // Google's crawler documentation (W.X.Y.Z is how Google writes the evergreen Chrome version).
    {"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; "
     "+http://www.google.com/bot.html) Chrome/W.X.Y.Z Safari/537.36",
     kBot, "Googlebot"},
    {"Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like "
     "Gecko) Chrome/W.X.Y.Z Mobile Safari/537.36 (compatible; Googlebot/2.1; "
     "+http://www.google.com/bot.html)",
     kBot, "Googlebot"},
    {"Googlebot-Image/1.0", kBot, "Googlebot"},
    {"Mozilla/5.0 (compatible; Google-InspectionTool/1.0;)", kBot, "Google-InspectionTool"},
    {"AdsBot-Google (+http://www.google.com/adsbot.html)", kBot, "AdsBot-Google"},
    {"FeedFetcher-Google; (+http://www.google.com/feedfetcher.html)", kBot, "FeedFetcher-Google"},
    {"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/138.0.0.0 Mobile Safari/537.36 (compatible; Google-Read-Aloud; "
     "+https://support.google.com/webmasters/answer/1061943)",
     kBot, "Google Read Aloud"},
    // Bing's crawler list.
    {"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", kBot, "bingbot"},
    {"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; "
     "+http://www.bing.com/bingbot.htm) Chrome/W.X.Y.Z Safari/537.36",
     kBot, "bingbot"},
    // isbot fixtures.
    {"Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)", kBot,
     "Baiduspider"},
    {"Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", kBot, "YandexBot"},
    {"Mozilla/5.0 (compatible; YandexVerticals/1.0; http://yandex.com/bots)", kBot, "Yandex"},
    {"DuckDuckBot/1.0; (+http://duckduckgo.com/duckduckbot.html)", kBot, "DuckDuckBot"},
    {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
     kBot, "Applebot"},
    {"Mozilla/5.0 (Linux; Android 6.0; Nexus 5 Build/MRA58N) AppleWebKit/537.36 (KHTML, like "
     "Gecko) Chrome/51.0.5668.1446 Mobile Safari/537.36; Bytespider;bytespider@bytedance.com",
     kBot, "Bytespider"},
    {"Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", kBot, "AhrefsBot"},
    {"Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)", kBot,
     "SemrushBot"},
    {"Mozilla/5.0 (Linux; Android 7.0;) AppleWebKit/537.36 (KHTML, like Gecko) Mobile "
     "Safari/537.36 (compatible; PetalBot;+https://webmaster.petalsearch.com/site/petalbot)",
     kBot, "PetalBot"},
    {"Sogou web spider/4.0(+http://www.sogou.com/docs/help/webmasters.htm#07)", kBot, "Sogou"},
    {"Sogou head spider/3.0( http://www.sogou.com/docs/help/webmasters.htm#07)", kBot, "Sogou"},
    {"Mozilla/5.0 (Windows NT 6.1) AppleWebKit/537.1 (KHTML, like Gecko) Chrome/21.0.1180.89 "
     "Safari/537.1; 360Spider",
     kBot, "360Spider"},
    {"Mozilla/5.0 (compatible; MJ12bot/v1.4.4; http://www.majestic12.co.uk/bot.php?+)", kBot,
     "MJ12bot"},
    {"Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)", kBot,
     "Yahoo! Slurp"},
    {"Mozilla/5.0 (compatible; Yeti/1.1; +http://naver.me/spd)", kBot, "Yeti"},
    {"Mozilla/5.0 (compatible; SeznamBot/4.0-RC1 +http://napoveda.seznam.cz/seznambot-intro/)",
     kBot, "SeznamBot"},
    // OpenAI's, Anthropic's and Perplexity's bot pages; Common Crawl via isbot; Meta's crawler
    // page.
    {"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; GPTBot/1.1; "
     "+https://openai.com/gptbot",
     kBot, "GPTBot"},
    {"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; "
     "+https://openai.com/bot",
     kBot, "ChatGPT-User"},
    {"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; "
     "+claudebot@anthropic.com)",
     kBot, "ClaudeBot"},
    {"CCBot/2.0 (http://commoncrawl.org/faq/)", kBot, "CCBot"},
    {"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; PerplexityBot/1.0; "
     "+https://perplexity.ai/perplexitybot)",
     kBot, "PerplexityBot"},
    {"meta-externalagent/1.1 (+https://developers.facebook.com/docs/sharing/webmasters/crawler)",
     kBot, "Meta-ExternalAgent"},
};

// Uptime monitors, HTTP tools and libraries, headless browsers (isbot fixtures unless noted).
const std::vector<Case> kTools = {
    {"Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)", kBot, "UptimeRobot"},
    {"Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)", kBot, "Pingdom"},
    {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Ubuntu "
     "Chromium/61.0.3163.100 Chrome/61.0.3163.100 Safari/537.36 PingdomPageSpeed/1.0 (pingbot/2.0; "
     "+http://www.pingdom.com/)",
     kBot, "Pingdom"},
    {"Mozilla/5.0 (Windows NT 6.2; WOW64) AppleWebKit/537.4 (KHTML, like Gecko) Chrome/98 "
     "Safari/537.4 (StatusCake)",
     kBot, "StatusCake"},
    {"curl/8.4.0", kBot, "curl"},   // curl's default, "curl/VERSION"
    {"Wget/1.21.3", kBot, "Wget"},  // GNU Wget's default, "Wget/VERSION"
    {"python-requests/2.21.0", kBot, "python-requests"},
    {"Python-urllib/2.7", kBot, "Python-urllib"},
    {"go-http-client/1.1", kBot, "Go-http-client"},
    {"Go-http-client/2.0", kBot, "Go-http-client"},  // Go's net/http default over HTTP/2
    {"Go 1.1 package http", kBot, "Go-http-client"},
    {"okhttp/3.4.1", kBot, "okhttp"},
    {"Java/1.8.0_121", kBot, "Java"},
    {"Apache-HttpClient/4.3.6 (java 1.5)", kBot, "Apache-HttpClient"},
    {"axios/0.19.2", kBot, "axios"},
    {"axios/0.21.4, XFF:35.228.69.34", kBot, "axios"},
    {"node-fetch", kBot, "node-fetch"},
    {"node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", kBot, "node-fetch"},  // v2 default
    {"libwww-perl/6.04", kBot, "libwww-perl"},
    {"W3C-checklink/4.81 libwww-perl/5.836", kBot, "libwww-perl"},
    {"PostmanRuntime/7.29.0", kBot, "PostmanRuntime"},
    {"Scrapy/1.0.3.post6+g2d688cd (+http://scrapy.org)", kBot, "Scrapy"},
    {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "HeadlessChrome/100.0.4896.88 Safari/537.36",
     kBot, "HeadlessChrome"},
    {"phantomas/1.11.0 (PhantomJS/1.9.8; linux x64)", kBot, "PhantomJS"},
    {"", kBot, "no user agent"},
};

// Link previewers: the fetch an app makes to draw a card for a shared link.
const std::vector<Case> kPreviewers = {
    // Meta's crawler page, isbot.
    {"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", kPreview,
     "Facebook previewer"},
    {"facebookexternalhit/1.0 (+http://www.facebook.com/externalhit_uatext.php)", kPreview,
     "Facebook previewer"},
    {"facebot", kPreview, "Facebook previewer"},
    // Apple Messages (iMessage) claims to be both Facebook's and X's previewer.
    {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) "
     "Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0",
     kPreview, "iMessage previewer"},
    // X's cards documentation.
    {"Twitterbot/1.0", kPreview, "Twitterbot"},
    // Slack's robots page.
    {"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", kPreview, "Slack previewer"},
    {"Slack-ImgProxy (+https://api.slack.com/robots)", kPreview, "Slack previewer"},
    {"Slackbot 1.0 (+https://api.slack.com/robots)", kPreview, "Slack previewer"},
    // Telegram says it is "like TwitterBot": it must not count as X.
    {"TelegramBot (like TwitterBot)", kPreview, "Telegram previewer"},
    {"WhatsApp/2.21.12.21 A", kPreview, "WhatsApp previewer"},
    {"WhatsApp/2.16.16/i", kPreview, "WhatsApp previewer"},  // iOS and web, crawler-user-agents#33
    {"Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", kPreview,
     "Discord previewer"},
    {"LinkedInBot/1.0 (compatible; Mozilla/5.0; Jakarta Commons-HttpClient/3.1 "
     "+http://www.linkedin.com)",
     kPreview, "LinkedIn previewer"},
    {"Mozilla/5.0 (compatible; Pinterestbot/1.0; http://www.pinterest.com/bot.html)", kPreview,
     "Pinterest previewer"},
    {"Pinterest/0.2 (+http://www.pinterest.com/bot.html)", kPreview, "Pinterest previewer"},
    {"Mozilla/5.0 (compatible; redditbot/1.0; +http://www.reddit.com/feedback)", kPreview,
     "Reddit previewer"},
    {"Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5", kPreview,
     "Skype previewer"},
    // LINE's and KakaoTalk's previewers start as Facebook's.
    {"facebookexternalhit/1.1;line-poker/1.0", kPreview, "LINE previewer"},
    {"facebookexternalhit/1.1;kakaotalk-scrap/1.0;", kPreview, "KakaoTalk previewer"},
    // Viber's own client (isbot lists it with browsers; the in-app browser is below, as human).
    {"Viber/12.8.0.1 CFNetwork/1121.2.2 Darwin/19.3.0", kPreview, "Viber previewer"},
    {"Mozilla/5.0 (compatible; Snap URL Preview Service; bot; snapchat; "
     "https://developers.snap.com/robots)",
     kPreview, "Snapchat previewer"},
    {"Snap URL Preview Service; bot; snapchat; https://developers.snap.com/robots", kPreview,
     "Snapchat previewer"},
    {"Mozilla/5.0 (compatible; Embedly/0.2; +http://support.embed.ly/)", kPreview, "Embedly"},
    {"Iframely/1.3.1 (+https://iframely.com/docs/about) Notion", kPreview, "Iframely"},
    {"Mozilla/5.0 Google-PageRenderer Google (+https://developers.google.com/+/web/snippet/)",
     kPreview, "Google previewer"},
    {"Mozilla/5.0 MicrosoftPreview/2.0 +https://aka.ms/MicrosoftPreview", kPreview,
     "Microsoft previewer"},
    {"Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile "
     "Safari/537.36 (compatible; TikTokSpider; ttspider-feedback@tiktok.com)",
     kPreview, "TikTok previewer"},
    // WeChat, but not its in-app browser (no "MicroMessenger ... NetType"): the iOS app's own
    // client, as logged in public code, and its share extension, the token device-detector names.
    {"WeChat/8.0.49.33 CFNetwork/1474 Darwin/23.0.0", kPreview, "WeChat previewer"},
    {"WeChatShareExtensionNew/8.0.40 CFNetwork/1410.0.3 Darwin/22.6.0", kPreview,
     "WeChat previewer"},
    // A Mastodon server fetching a posted link (with "Bot" since mastodon/mastodon#14248).
    {"http.rb/4.4.1 (Mastodon/3.4.1; +https://raru.re/) Bot", kPreview, "Mastodon previewer"},
    {"Mozilla/5.0 (compatible; Bluesky Cardyb/1.1; +mailto:support@bsky.app)", kPreview,
     "Bluesky previewer"},
    {"Quora Link Preview/1.0 (http://www.quora.com)", kPreview, "Quora previewer"},
};

// People: in-app browsers (including those of apps whose previewers are above) and browsers.
const std::vector<Case> kPeople = {
    // WeChat: MicroMessenger with NetType and Language (isbot; the iOS one logged in public tests).
    {"Mozilla/5.0 (Linux; Android 7.0; FRD-AL00 Build/HUAWEIFRD-AL00; wv) AppleWebKit/537.36 "
     "(KHTML, like Gecko) Version/4.0 Chrome/53.0.2785.49 Mobile MQQBrowser/6.2 TBS/043602 "
     "Safari/537.36 MicroMessenger/6.5.16.1120 NetType/WIFI Language/zh_CN",
     kHuman, ""},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Mobile/15E148 MicroMessenger/8.0.40(0x18002832) NetType/WIFI Language/en",
     kHuman, ""},
    {"Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/39.0.2171.95 Safari/537.36 MicroMessenger/6.5.2.501 NetType/WIFI WindowsWechat "
     "QBCore/3.43.691.400 QQBrowser/9.0.2524.400",
     kHuman, ""},
    // WeCom (Enterprise WeChat) has no NetType and is still a browser.
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 10_3_3 like Mac OS X) AppleWebKit/603.3.8 (KHTML, like "
     "Gecko) Mobile/14G60 wxwork/2.1.5 MicroMessenger/6.3.22",
     kHuman, ""},
    // Douyin (aweme), Android and iOS.
    {"Mozilla/5.0 (Linux; Android 10; HD1900 Build/QKQ1.190716.003; wv) AppleWebKit/537.36 "
     "(KHTML, like Gecko) Version/4.0 Chrome/75.0.3770.156 Mobile Safari/537.36 aweme_230400 "
     "JsSdk/1.0 NetType/WIFI AppName/aweme app_version/23.4.0 ByteLocale/zh-CN Region/CN "
     "AppSkin/white AppTheme/light BytedanceWebview/d8a21c6 WebView/075113004008",
     kHuman, ""},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 13_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Mobile/15E148 aweme_13.6.0 JsSdk/2.0 NetType/4G Channel/App Store ByteLocale/zh "
     "Region/CN AppTheme/dark RevealType/Dialog WKWebView/1",
     kHuman, ""},
    // TikTok (trill, musical_ly), isbot.
    {"Mozilla/5.0 (Linux; Android 10; SM-G973F Build/QQ3A.200805.001; wv) AppleWebKit/537.36 "
     "(KHTML, like Gecko) Version/4.0 Chrome/85.0.4183.101 Mobile Safari/537.36 trill_2021806060 "
     "JsSdk/1.0 NetType/WIFI Channel/googleplay AppName/musical_ly app_version/18.6.6 "
     "ByteLocale/fr ByteFullLocale/fr Region/FR",
     kHuman, ""},
    {"Mozilla/5.0 (Linux; Android 8.1.0; BQ-5516L Build/O11019; wv) AppleWebKit/537.36 (KHTML, "
     "like Gecko) Version/4.0 Chrome/81.0.4044.117 Mobile Safari/537.36 trill_2021509030 JsSdk/1.0 "
     "NetType/WIFI Channel/googleplay AppName/musical_ly app_version/15.9.3 ByteLocale/ru-RU "
     "ByteFullLocale/ru-RU Region/RU AppSkin/white",
     kHuman, ""},
    // Facebook (FBAN, FB_IAB) and Instagram, isbot.
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 11_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Mobile/15G77 [FBAN/FBIOS;FBAV/183.0.0.41.81;FBBV/119182652;FBDV/iPhone6,2;"
     "FBMD/iPhone;FBSN/iOS;FBSV/11.4.1;FBSS/2;FBCR/VIVO;FBID/phone;FBLC/pt_BR;FBOP/5;FBRV/0]",
     kHuman, ""},
    {"Mozilla/5.0 (Linux; Android 9; SM-G950U Build/PPR1.180610.011; wv) AppleWebKit/537.36 "
     "(KHTML, like Gecko) Version/4.0 Chrome/80.0.3987.149 Mobile Safari/537.36 "
     "[FB_IAB/FB4A;FBAV/263.0.0.46.121;]",
     kHuman, ""},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 13_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Mobile/15E148 Instagram 123.1.0.26.115 (iPhone11,8; iOS 13_3; en_US; en-US; "
     "scale=2.00; 828x1792; 190542906)",
     kHuman, ""},
    {"Mozilla/5.0 (Linux; Android 11; Pixel 2 Build/RP1A.201005.004.A1; wv) AppleWebKit/537.36 "
     "(KHTML, like Gecko) Version/4.0 Chrome/91.0.4472.120 Mobile Safari/537.36 Instagram "
     "194.0.0.36.172 Android (30/11; 420dpi; 1080x1878; Google/google; Pixel 2; walleye; walleye; "
     "en_US; 301484483)",
     kHuman, ""},
    // X's in-app browser, isbot.
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 13_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Mobile/17D50 Twitter for iPhone/8.10",
     kHuman, ""},
    // Telegram's in-app browser on Android: the WebView's agent plus "Telegram-Android/<version>
    // (<maker> <model>; Android <v>; SDK <n>; <performance class>)".
    {"Mozilla/5.0 (Linux; Android 7.1.2; K) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/119.0.6045.193 Mobile Safari/537.36 Telegram-Android/11.4.3 (Samsung SM-G965N; "
     "Android 7.1.2; SDK 25; LOW)",
     kHuman, ""},
    // Slack's desktop app (Electron), isbot.
    {"Mozilla/5.0 (Windows NT 10.0.18362; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Slack/4.4.2 Chrome/78.0.3904.130 Electron/7.2.1 Safari/537.36 WindowsStore/10.0.18362 Sonic "
     "Slack_SSB/4.4.2",
     kHuman, ""},
    // LINE's in-app browser, iOS and Android.
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Mobile/21F79 Safari/604.1 Line/14.10.0",
     kHuman, ""},
    {"Mozilla/5.0 (Linux; Android 14; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/126.0.0.0 Mobile Safari/537.36 Line/14.9.1",
     kHuman, ""},
    // Weibo, QQ (isbot), Kuaishou and its Lite app, Bilibili.
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 15_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Mobile/15E148 Weibo (iPhone8,2__weibo__12.11.0__iphone__os15.6)",
     kHuman, ""},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 9_3_4 like Mac OS X) AppleWebKit/601.1.46 (KHTML, like "
     "Gecko) Mobile/13G35 QQ/6.5.3.410 V1_IPH_SQ_6.5.3_1_APP_A Pixel/750 Core/UIWebView "
     "NetType/2G Mem/117",
     kHuman, ""},
    {"Mozilla/5.0 (Linux; Android 5.1.1; SKW-A0 Build/LMY49I; wv) AppleWebKit/537.36 (KHTML, like "
     "Gecko) Version/4.0 Chrome/52.0.2743.100 Mobile Safari/537.36 Kwai/6.9.2.11245",
     kHuman, ""},
    {"Mozilla/5.0 (Linux; Android 9; MI 6 Build/PKQ1.190118.001; wv) AppleWebKit/537.36 (KHTML, "
     "like Gecko) Version/4.0 Chrome/90.0.4430.226 KsWebView/1.8.90.481 (rel;r) Mobile "
     "Safari/537.36 Yoda/2.8.2-rc1 ksNebula/10.3.31.3276 OS_PRO_BIT/64 MAX_PHY_MEM/5724 "
     "AZPREFIX/yz ICFO/0 StatusHT/24 TitleHT/44 NetType/WIFI ISLP/0 ISDM/0 ISLB/0 locale/zh-cn "
     "evaSupported/false CT/0",
     kHuman, ""},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1_1 like Mac OS X) AppleWebKit/619.2.8.10.9 (KHTML, "
     "like Gecko) Mobile/22B91 BiliApp/83000100 os/ios model/iPhone 13 mobi_app/iphone "
     "build/83000100 osVer/18.1.1 network/2 channel/AppStore "
     "Buvid/YF4BDFF823E8BA68449892FA07B6F4028355 c_locale/zh-Hans_CN s_locale/zh-Hans_CN "
     "sessionID/11bb9479 disable_rcmd/0",
     kHuman, ""},
    // Snapchat's, Viber's, Pinterest's and LinkedIn's in-app browsers, isbot.
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 14_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/14.1.1 Mobile/15E148 Snapchat/11.36.0.36 (like Safari/604.1)",
     kHuman, ""},
    {"Mozilla/5.0 (Linux; Android 7.1.2; G011A Build/N2G48H; wv) AppleWebKit/537.36 (KHTML, like "
     "Gecko) Version/4.0 Chrome/66.0.3359.158 Safari/537.36 Viber/11.9.5.8",
     kHuman, ""},
    {"Mozilla/5.0 (Linux; Android 9; STF-L09 Build/HUAWEISTF-L09; wv) AppleWebKit/537.36 (KHTML, "
     "like Gecko) Version/4.0 Chrome/79.0.3945.79 Mobile Safari/537.36 [Pinterest/Android]",
     kHuman, ""},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 12_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Mobile/15E148 [LinkedInApp]",
     kHuman, ""},
    // Browsers, isbot.
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/74.0.3729.169 Safari/537.36",
     kHuman, ""},
    // Chrome on Android as it reports itself since the user-agent reduction ("K", "Mobile").
    {"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.0.0 Mobile Safari/537.36",
     kHuman, ""},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 13_2_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/13.0.3 Mobile/15E148 Safari/604.1",
     kHuman, ""},
    {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/12.1.1 Safari/605.1.15",
     kHuman, ""},
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:100.0) Gecko/20100101 Firefox/100.0", kHuman,
     ""},
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/81.0.4044.113 Safari/537.36 Edg/81.0.416.62",
     kHuman, ""},
    {"Mozilla/5.0 (Linux; Android 9; SAMSUNG SM-G960U) AppleWebKit/537.36 (KHTML, like Gecko) "
     "SamsungBrowser/10.2 Chrome/71.0.3578.99 Mobile Safari/537.36",
     kHuman, ""},
    {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_12_6) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/79.0.3945.130 Safari/537.36 OPR/66.0.3515.72",
     kHuman, ""},
    {"Mozilla/5.0 (Linux; U; Android 4.4.2; zh-CN; HUAWEI MT7-TL00 Build/HuaweiMT7-TL00) "
     "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/40.0.2214.89 UCBrowser/11.3.8.909 "
     "Mobile Safari/537.36",
     kHuman, ""},
    {"Mozilla/5.0 (Linux; Android 10; MAR-LX3A; HMSCore 6.12.4.311; GMSCore 23.48.16) "
     "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0.4844.88 HuaweiBrowser/14.0.2.311 Mobile "
     "Safari/537.36",
     kHuman, ""},
    {"Mozilla/5.0 (Linux; Android 10) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 "
     "Chrome/84.0.4147.111 Mobile DuckDuckGo/5 Safari/537.36",
     kHuman, ""},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 13_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) GSA/102.0.304944559 Mobile/15E148 Safari/604.1",
     kHuman, ""},
    // Phones whose model names contain "bot", isbot.
    {"Mozilla/5.0 (Linux; Android 6.0; CUBOT MAX Build/MRA58K) AppleWebKit/537.36 (KHTML, like "
     "Gecko) Chrome/51.0.2704.81 Mobile Safari/537.36",
     kHuman, ""},
    {"Mozilla/5.0 (Linux; Android 4.2.2; CUBOT C11 Build/JDQ39) AppleWebKit/537.36 (KHTML, like "
     "Gecko) Chrome/31.0.1650.57 Mobile Safari/537.36 OPR/18.0.1290.66961",
     kHuman, ""},
    {"Mozilla/5.0 (Linux; Android 8.0.0; CUBOT_P20) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/70.0.3538.110 Mobile Safari/537.36",
     kHuman, ""},
};

TEST(UserAgentRealWorld, SearchSeoAndAiCrawlersAreBots) { expect_classified(kCrawlers); }

TEST(UserAgentRealWorld, MonitorsToolsAndLibrariesAreBots) { expect_classified(kTools); }

TEST(UserAgentRealWorld, LinkPreviewersArePreviews) { expect_classified(kPreviewers); }

TEST(UserAgentRealWorld, InAppBrowsersAndBrowsersAreHuman) { expect_classified(kPeople); }

TEST(UserAgentRealWorld, TheTableIsLargeEnoughToMeanSomething) {
  EXPECT_GE(kCrawlers.size() + kTools.size() + kPreviewers.size() + kPeople.size(), 70u);
}

TEST(UserAgent, EmptyOrBlankMeansNoUserAgent) {
  for (std::string_view blank : {"", " ", "\t", "   \t "}) {
    const Classification got = classify_user_agent(blank);
    EXPECT_EQ(got.kind, Visitor::bot) << '"' << blank << '"';
    EXPECT_EQ(got.agent, "no user agent");
  }
}

TEST(UserAgent, MatchingIgnoresCaseAndSurroundingBlanks) {
  expect_classified({
      {"GOOGLEBOT/2.1 (+HTTP://WWW.GOOGLE.COM/BOT.HTML)", kBot, "Googlebot"},
      {"  Twitterbot/1.0\t", kPreview, "Twitterbot"},
      {"FACEBOOKEXTERNALHIT/1.1", kPreview, "Facebook previewer"},
      {"mozilla/5.0 (iphone) micromessenger/8.0.40 nettype/wifi", kHuman, ""},
  });
}

TEST(UserAgent, OkhttpIsABotOnlyWhenItIsTheWholeUserAgent) {
  expect_classified({
      {"okhttp/4.9.3", kBot, "okhttp"},
      // Made up: an app's WebView that appends its HTTP library is still a person's browser.
      {"Mozilla/5.0 (Linux; Android 12; Pixel 6) AppleWebKit/537.36 (KHTML, like Gecko) "
       "Chrome/120.0.0.0 Mobile Safari/537.36 okhttp/4.9.3",
       kHuman, ""},
  });
}

TEST(UserAgent, UnknownRobotsAreNamedByTheirOwnToken) {
  expect_classified({
      {"Mozilla/5.0 (compatible; FooCrawler/1.0)", kBot, "FooCrawler"},
      {"Mozilla/5.0 (compatible; ExampleBot/2.1; +https://example.com/bot)", kBot, "ExampleBot"},
      {"Mozilla/5.0 (compatible; SomeSpider)", kBot, "SomeSpider"},
      {"Mozilla/5.0 (compatible; example-fetcher/3)", kBot, "example-fetcher"},
      // isbot: a robot with no robot word, which links to a page about itself.
      {"Mozilla/5.0 (compatible; Dataprovider/6.92; +https://www.dataprovider.com/)", kBot,
       "Dataprovider"},
      {"BUbiNG (+http://law.di.unimi.it/BUbiNG.html)", kBot, "BUbiNG"},
      // isbot: a previewer known only by the word.
      {"Bitrix link preview", kPreview, "Bitrix link preview"},
      // isbot's glitches: one bare token is never a browser.
      {"Chrome", kBot, "Chrome"},
      {"Mozilla/5.0", kBot, "Mozilla"},
      {"default_user_agent", kBot, "default_user_agent"},
  });
}

TEST(UserAgent, BotAsPartOfAWordIsNotARobot) {
  expect_classified({
      // Made up around real words: "Botify" and "Abbott" contain "bot" without ending in it.
      {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
       "Chrome/120.0.0.0 Safari/537.36 Abbott",
       kHuman, ""},
      {"Mozilla/5.0 (Linux; Android 13; CUBOT KingKong Power) AppleWebKit/537.36 (KHTML, like "
       "Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
       kHuman, ""},
  });
}

TEST(UserAgent, ReportNamesAreShortAndSafe) {
  const std::string long_name = "Mozilla/5.0 (compatible; " + std::string(300, 'x') + "bot/1.0)";
  for (const std::string& user_agent :
       {std::string("Mozilla/5.0 (compatible; Evil<script>Bot/1.0)"),
        std::string("<img src=x onerror=alert(1)> crawler"), std::string("\"quoted\"bot"),
        std::string("ünïcødé-bot/1.0 (+https://example.com)"), long_name}) {
    const Classification got = classify_user_agent(user_agent);
    EXPECT_EQ(got.kind, Visitor::bot) << user_agent;
    EXPECT_FALSE(got.agent.empty()) << user_agent;
    EXPECT_LE(got.agent.size(), 48u) << user_agent;
    for (char c : got.agent) {
      const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == ' ' ||
                        c == '!';
      EXPECT_TRUE(safe) << user_agent << " -> " << got.agent;
    }
  }
}

TEST(UserAgent, LongUserAgentsAreReadToTheEnd) {
  const std::string padding(3000, 'a');
  EXPECT_EQ(classify_user_agent("Mozilla/5.0 (" + padding + ") Googlebot/2.1").agent, "Googlebot");
  EXPECT_EQ(classify_user_agent("Mozilla/5.0 (X11; " + padding + ") Firefox/120.0").kind,
            Visitor::human);
}

TEST(UserAgent, VisitorNames) {
  EXPECT_EQ(visitor_name(Visitor::human), "human");
  EXPECT_EQ(visitor_name(Visitor::bot), "bot");
  EXPECT_EQ(visitor_name(Visitor::preview), "preview");
}

// ---------------------------------------------------------------------------------------------
// Addresses

TEST(AnonymizeIp, Ipv4KeepsItsSlash24) {
  EXPECT_EQ(anonymize_ip("203.0.113.7"), "203.0.113.0");
  EXPECT_EQ(anonymize_ip("198.51.100.255"), "198.51.100.0");
  EXPECT_EQ(anonymize_ip("192.0.2.0"), "192.0.2.0");
  EXPECT_EQ(anonymize_ip("0.0.0.0"), "0.0.0.0");
  EXPECT_EQ(anonymize_ip("255.255.255.255"), "255.255.255.0");
}

TEST(AnonymizeIp, Ipv6KeepsItsSlash48InCanonicalForm) {
  EXPECT_EQ(anonymize_ip("2001:db8:1234:5678:9abc:def0:1234:5678"), "2001:db8:1234::");
  EXPECT_EQ(anonymize_ip("2001:0DB8:0001:0000:0000:0000:0000:0001"), "2001:db8:1::");
  EXPECT_EQ(anonymize_ip("2001:db8::1"), "2001:db8::");
  EXPECT_EQ(anonymize_ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"), "2001:db8:ffff::");
  EXPECT_EQ(anonymize_ip("::1"), "::");
  EXPECT_EQ(anonymize_ip("::"), "::");
  EXPECT_EQ(anonymize_ip("64:ff9b::203.0.113.7"), "64:ff9b::");  // NAT64 stays IPv6
}

TEST(AnonymizeIp, Ipv4MappedIpv6IsTreatedAsIpv4) {
  EXPECT_EQ(anonymize_ip("::ffff:203.0.113.7"), "203.0.113.0");
  EXPECT_EQ(anonymize_ip("::FFFF:198.51.100.23"), "198.51.100.0");
  EXPECT_EQ(anonymize_ip("0:0:0:0:0:ffff:cb00:7107"), "203.0.113.0");
  EXPECT_EQ(anonymize_ip("[::ffff:203.0.113.7]:8080"), "203.0.113.0");
}

TEST(AnonymizeIp, BracketsPortsZonesAndBlanksAreUnwrapped) {
  EXPECT_EQ(anonymize_ip("[::1]"), "::");
  EXPECT_EQ(anonymize_ip("[2001:db8:1::5]"), "2001:db8:1::");
  EXPECT_EQ(anonymize_ip("[2001:db8:1::5]:443"), "2001:db8:1::");
  EXPECT_EQ(anonymize_ip("fe80::1%eth0"), "fe80::");
  EXPECT_EQ(anonymize_ip("[fe80::1%25eth0]"), "fe80::");
  EXPECT_EQ(anonymize_ip("203.0.113.7:5060"), "203.0.113.0");
  EXPECT_EQ(anonymize_ip(" 203.0.113.7 "), "203.0.113.0");
  EXPECT_EQ(anonymize_ip("\t2001:db8::1"), "2001:db8::");
}

TEST(AnonymizeIp, AnythingElseIsEmpty) {
  const std::string too_long(200, '1');
  for (std::string_view bad : std::vector<std::string_view>{
           "",
           "   ",
           "localhost",
           "example.com",
           "203.0.113",
           "203.0.113.7.1",
           "256.0.0.1",
           "203.0.113.07",
           "-1.0.0.1",
           "203.0.113.7/24",
           "203.0.113.7, 198.51.100.1",
           "203.0.113.7:",
           "203.0.113.7:http",
           "203.0.113.7:70000",
           "203.0.113.7%eth0",
           "2001:db8::g",
           "2001:db8:::1",
           "1:2:3:4:5:6:7:8:9",
           "[203.0.113.7]",
           "[::1",
           "::1]",
           "[::1]x",
           "[::1]:",
           "[::1]:99999",
           "[]",
           "fe80::1%",
           "::ffff:203.0.113",
           std::string_view(too_long),
           std::string_view("203.0.113.7\0junk", 16),
       }) {
    EXPECT_EQ(anonymize_ip(bad), "") << '"' << bad << '"';
  }
}

}  // namespace
}  // namespace reelflow::track
