"""The web console (potok-ui) as its users meet it: its JSON API and its pages in headless
Chromium, against one `potok-operator up` cluster shared by every suite here."""
