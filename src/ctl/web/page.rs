//! The dashboard page: Supervisor's server-rendered status page (every link and action works
//! without JavaScript) plus one inline style sheet and one inline script that take it over in a
//! browser with JavaScript. No external resources: it works offline and behind the same auth.

const STYLE: &str = include_str!("dashboard.css");
const SCRIPT: &str = include_str!("dashboard.js");

/// Adds the dashboard's style and script to the status page.
pub fn enhance(page: String) -> String {
    let mut out = String::with_capacity(page.len() + STYLE.len() + SCRIPT.len() + 64);
    let Some(body_end) = page.rfind("</body>") else {
        return page;
    };
    out.push_str(&page[..body_end]);
    out.push_str("<style>");
    out.push_str(STYLE);
    out.push_str("</style>\n<script>");
    out.push_str(SCRIPT);
    out.push_str("</script>\n");
    out.push_str(&page[body_end..]);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn inline_assets_only() {
        let page = super::enhance("<html><body><p>x</p></body></html>".into());
        assert!(page.starts_with("<html><body><p>x</p><style>"));
        assert!(page.ends_with("</script>\n</body></html>"));
        // No external resources: nothing loaded from another origin.
        assert!(!page.contains("http://") && !page.contains("https://") && !page.contains("src="));
        assert!(!super::SCRIPT.contains("</script"));
        // ASCII only (escapes in the script): the page is right whatever charset it is read in.
        assert!(super::SCRIPT.is_ascii() && super::STYLE.is_ascii());
    }
}
