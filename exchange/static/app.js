/* City Exchange: the little behaviour pages have, from this file only.
   The Content-Security-Policy allows no inline script, so templates mark elements
   with data attributes instead of onclick/onchange/onsubmit handlers:
     data-autosubmit   on a select: submit its form when the choice changes
     data-confirm="…"  on a form: ask before submitting it
     data-print        on a link: open the print dialogue
     data-error-summary  on a form's error summary: takes the focus when the page loads
     data-menu         on the header's <details> menu: open on wide screens
     data-topic-picker="{texts}"  on a topic <select>: a searchable tree picker over it
                       (below; the select stays the form's field, hidden)
   Every page works without JavaScript too (a filter has its own button in <noscript>;
   a topic picker's select is a plain select). */
"use strict";

document.addEventListener("change", function (event) {
  var field = event.target;
  if (field.hasAttribute && field.hasAttribute("data-autosubmit") && field.form) {
    field.form.submit();
  }
});

document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

document.addEventListener("click", function (event) {
  var link = event.target.closest && event.target.closest("[data-print]");
  if (link) {
    event.preventDefault();
    window.print();
  }
});

/* After a failed submit the error summary takes the focus, so a screen reader reads it
   and a keyboard user continues from its links (WCAG 3.3.1). */
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
  }
});

/* The header menu is a <details>: closed on a phone, open on a wide screen, where
   style.css hides its toggle. Browsers that can style ::details-content show it open
   without this; this keeps older ones usable too. */
(function () {
  var wide = window.matchMedia && window.matchMedia("(min-width: 60em)");
  function apply() {
    var menu = document.querySelector("[data-menu]");
    if (menu && wide) {
      menu.open = wide.matches;
    }
  }
  if (wide) {
    document.addEventListener("DOMContentLoaded", apply);
    if (wide.addEventListener) {
      wide.addEventListener("change", apply);
    }
  }
})();

/* Topic picker (issue 10): a <select data-topic-picker> of topics in tree order, each
   option indented by em spaces per level (cities/choices.py; a data-depth attribute
   wins when an option has one), becomes a search box, the tree as nested lists with
   expand buttons, a checkbox (multiple select) or radio button (single) per topic and
   the chosen topics as buttons that remove them. The <select> stays in the form as the
   source of truth: hidden once the widget stands, every choice is written to it (and a
   "change" event sent, so data-autosubmit works), and the form submits it as before.
   The attribute's value is the widget's texts as JSON, in the reader's language
   (core/accessibility.py topic_picker()). Search folds case, umlauts ("oe" finds "ö",
   "o" too), accents, hyphens and spaces ("eakte" finds "E-Akte"); every word must
   occur; matches keep their ancestors visible, opened. Keys: Tab through the
   controls, arrows up/down move between topics, right/left open, close or go to the
   parent, Home/End, Space or Enter choose; Enter in the search box goes to the first
   match instead of sending the form, Escape empties it. */
(function () {
  var TO_AE = { "ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss" };
  var TO_A = { "ä": "a", "ö": "o", "ü": "u", "ß": "ss" };
  var count = 0;

  function fold(text, table) {
    return text.normalize("NFC").toLowerCase()
      .replace(/[äöüß]/g, function (letter) { return table[letter]; })
      .normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/[^a-z0-9]+/g, "");
  }

  function element(tag, attributes, children) {
    var made = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      made.setAttribute(name, attributes[name]);
    });
    (children || []).forEach(function (child) {
      made.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return made;
  }

  /* The topic's name, in its own language when that is not the page's. */
  function nameOf(node) {
    var span = element("span", {}, [node.name]);
    if (node.lang) {
      span.lang = node.lang;
    }
    return span;
  }

  /* A text with {topic} in it as nodes; the words around the name go into spans of
     `wordsClass` (visually hidden on the chips: they show the name and a cross). */
  function withTopic(template, node, wordsClass) {
    var parts = template.split("{topic}");
    var nodes = [];
    parts.forEach(function (part, index) {
      if (index > 0) {
        nodes.push(nameOf(node));
      }
      if (part) {
        nodes.push(wordsClass ? element("span", { "class": wordsClass }, [part]) : part);
      }
    });
    return nodes;
  }

  function enhance(select) {
    var texts = {};
    try {
      texts = JSON.parse(select.getAttribute("data-topic-picker") || "{}");
    } catch (error) {
      texts = {};
    }
    ["hint", "matchesOne", "matchesOther", "noMatches", "chosen", "nothingChosen", "remove",
     "subtopics"].forEach(function (key) {
      if (typeof texts[key] !== "string") {
        texts[key] = { matchesOne: "{n}", matchesOther: "{n}", remove: "{topic} ×",
                       subtopics: "{topic}" }[key] || "";
      }
    });
    var multiple = select.multiple;
    count += 1;
    var id = (select.id || "themen") + "-picker";
    while (document.getElementById(id + "-suche")) {
      id += count;
    }
    var label = select.labels && select.labels[0];

    /* The tree, read from the options. */
    var nodes = [], roots = [], stack = [], blank = null;
    Array.prototype.forEach.call(select.options, function (option) {
      if (option.value === "") {
        blank = blank || option;
        return;
      }
      var text = option.textContent.replace(/^[ \t\n\r\f]+/, "");
      var indent = /^\u2003*/.exec(text)[0].length;
      var depth = option.hasAttribute("data-depth")
        ? parseInt(option.getAttribute("data-depth"), 10) || 0 : indent;
      var name = text.slice(indent).trim();
      var group = option.parentNode.tagName === "OPTGROUP" ? option.parentNode : null;
      var node = { option: option, name: name, depth: depth, children: [], index: nodes.length,
                   lang: option.getAttribute("lang") || (group && group.getAttribute("lang")),
                   keys: [fold(name, TO_AE), fold(name, TO_A)], open: false };
      while (stack.length && stack[stack.length - 1].depth >= depth) {
        stack.pop();
      }
      node.parent = stack.length ? stack[stack.length - 1] : null;
      (node.parent ? node.parent.children : roots).push(node);
      stack.push(node);
      nodes.push(node);
    });
    if (!nodes.length) {
      return;
    }

    /* The widget. */
    var search = element("input", { type: "search", id: id + "-suche", "class": "topic-picker-search",
                                    autocomplete: "off", spellcheck: "false",
                                    "aria-controls": id + "-baum" });
    var hint = element("small", { "class": "help", id: id + "-hinweis" }, [texts.hint]);
    var status = element("p", { "class": "topic-picker-status", id: id + "-treffer", role: "status" });
    var chosenTitle = element("span", { "class": "topic-picker-chosen-title", id: id + "-auswahl" },
                              [texts.chosen]);
    var chips = element("ul", { "class": "topic-picker-chips", "aria-labelledby": id + "-auswahl" });
    var nothing = element("span", { "class": "topic-picker-nothing" });
    var tree = element("ul", { "class": "topic-picker-tree", id: id + "-baum" });
    var widget = element("div", { "class": "topic-picker" + (multiple ? " is-multiple" : " is-single") }, [
      search, hint, status,
      element("div", { "class": "topic-picker-chosen" }, [chosenTitle, " ", chips, nothing]),
      tree]);

    var described = [id + "-hinweis"];
    var plainHelp = select.hasAttribute("data-topic-picker-plain-help") && select.id
      && document.getElementById(select.id + "-hilfe");
    (select.getAttribute("aria-describedby") || "").split(/\s+/).forEach(function (ref) {
      if (ref && !(plainHelp && ref === plainHelp.id)) {
        described.push(ref);
      }
    });
    search.setAttribute("aria-describedby", described.join(" "));
    if (select.required) {
      // A hidden required select would stop the form with a message nobody sees; the
      // server checks the field and answers with the error summary instead.
      select.required = false;
      search.setAttribute("aria-required", "true");
    }
    if (select.getAttribute("aria-invalid")) {
      search.setAttribute("aria-invalid", select.getAttribute("aria-invalid"));
    }
    if (label) {
      if (!label.id) {
        label.id = id + "-name";
      }
      label.htmlFor = search.id;
      tree.setAttribute("aria-labelledby", label.id);
    }

    function build(node) {
      var choiceId = id + "-thema-" + node.index;
      var row = element("div", { "class": "topic-picker-row" });
      if (node.children.length) {
        node.toggle = element("button", { type: "button", "class": "topic-picker-toggle",
                                          "aria-expanded": "false",
                                          "aria-controls": id + "-zweig-" + node.index },
                              [element("span", { "class": "topic-picker-sign", "aria-hidden": "true" }),
                               element("span", { "class": "visually-hidden" },
                                       withTopic(texts.subtopics, node))]);
        node.toggle.topicNode = node;
        row.appendChild(node.toggle);
      } else {
        row.appendChild(element("span", { "class": "topic-picker-leaf" }));
      }
      node.input = element("input", { type: multiple ? "checkbox" : "radio", id: choiceId,
                                      "class": "topic-picker-choice" });
      node.input.topicNode = node;
      node.label = element("label", { "for": choiceId }, [nameOf(node)]);
      row.appendChild(node.input);
      row.appendChild(node.label);
      node.item = element("li", {}, [row]);
      if (node.children.length) {
        node.branch = element("ul", { id: id + "-zweig-" + node.index, hidden: "" });
        node.children.forEach(function (child) {
          node.branch.appendChild(build(child));
        });
        node.item.appendChild(node.branch);
      }
      return node.item;
    }
    roots.forEach(function (root) {
      tree.appendChild(build(root));
    });

    /* State: the select's choices, the search, which branches are open. */
    var filtering = false, savedOpen = null, announceTimer = null;

    function openAncestorsOfChosen() {
      nodes.forEach(function (node) {
        if (node.option.selected) {
          for (var up = node.parent; up; up = up.parent) {
            up.open = true;
          }
        }
      });
    }

    function renderNode(node, showAll) {
      node.item.hidden = !(showAll || node.hit || node.leads);
      node.label.classList.toggle("is-match", Boolean(node.hit));
      if (node.toggle) {
        node.toggle.setAttribute("aria-expanded", node.open ? "true" : "false");
        node.branch.hidden = !node.open;
        if (node.open) {
          var all = showAll || Boolean(node.hit && !node.leads);
          node.children.forEach(function (child) {
            renderNode(child, all);
          });
        }
      }
    }

    function render() {
      roots.forEach(function (root) {
        renderNode(root, !filtering);
      });
    }

    function renderChoices() {
      nodes.forEach(function (node) {
        node.input.checked = node.option.selected;
      });
      chips.textContent = "";
      nodes.forEach(function (node) {
        if (!node.option.selected) {
          return;
        }
        var chip;
        if (multiple || blank) {
          chip = element("button", { type: "button", "class": "topic-chip" },
                         withTopic(texts.remove, node, "visually-hidden"));
          chip.appendChild(element("span", { "class": "topic-chip-cross", "aria-hidden": "true" }, ["×"]));
          chip.topicNode = node;
        } else {
          chip = element("span", { "class": "topic-chip" }, [nameOf(node)]);
        }
        chips.appendChild(element("li", {}, [chip]));
      });
      var empty = !chips.children.length;
      chips.hidden = empty;
      nothing.hidden = !empty;
      nothing.textContent = blank && !multiple ? blank.textContent.trim() : texts.nothingChosen;
    }

    function changed() {
      renderChoices();
      select.dispatchEvent(new Event("change", { bubbles: true }));
    }

    function choose(node, on) {
      if (multiple) {
        node.option.selected = on;
      } else if (on) {
        select.value = node.option.value;
      } else if (blank) {
        blank.selected = true;
      }
      changed();
    }

    function words() {
      return search.value.split(/\s+/).map(function (word) {
        return [fold(word, TO_AE), fold(word, TO_A)];
      }).filter(function (variants) {
        return variants[0];
      });
    }

    function matches(node, wanted) {
      return wanted.every(function (variants) {
        return node.keys.some(function (key) {
          return key.indexOf(variants[0]) !== -1 || key.indexOf(variants[1]) !== -1;
        });
      });
    }

    function announce(text) {
      window.clearTimeout(announceTimer);
      announceTimer = window.setTimeout(function () {
        status.textContent = text;
      }, 400);
    }

    function filter() {
      var wanted = words();
      var wasFiltering = filtering;
      filtering = wanted.length > 0;
      if (filtering && !wasFiltering) {
        savedOpen = nodes.map(function (node) { return node.open; });
      }
      var hits = 0;
      for (var i = nodes.length - 1; i >= 0; i -= 1) {
        var node = nodes[i];
        node.hit = filtering && matches(node, wanted);
        node.leads = filtering && node.children.some(function (child) {
          return child.hit || child.leads;
        });
        hits += node.hit ? 1 : 0;
      }
      if (filtering) {
        nodes.forEach(function (node) { node.open = node.leads; });
      } else if (wasFiltering) {
        nodes.forEach(function (node, index) { node.open = savedOpen[index]; });
        openAncestorsOfChosen();
      }
      render();
      if (!filtering) {
        announce("");
      } else if (!hits) {
        announce(texts.noMatches);
      } else {
        announce((hits === 1 ? texts.matchesOne : texts.matchesOther).replace("{n}", hits));
      }
    }

    /* The topics a person can see, in order: where the arrow keys go. */
    function visible() {
      var list = [];
      (function walk(items) {
        items.forEach(function (node) {
          if (!node.item.hidden) {
            list.push(node);
            if (node.toggle && node.open) {
              walk(node.children);
            }
          }
        });
      })(roots);
      return list;
    }

    function focusNode(node) {
      if (node) {
        node.input.focus();
      }
    }

    function setOpen(node, open) {
      node.open = open;
      render();
    }

    search.addEventListener("input", filter);
    search.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === "ArrowDown") {
        event.preventDefault();
        var shown = visible();
        var first = shown.filter(function (node) { return node.hit; })[0] || shown[0];
        focusNode(event.key === "Enter" ? first : shown[0]);
      } else if (event.key === "Escape" && search.value) {
        event.preventDefault();
        search.value = "";
        filter();
      }
    });

    tree.addEventListener("change", function (event) {
      var node = event.target.topicNode;
      if (node) {
        event.stopPropagation();
        choose(node, event.target.checked);
      }
    });
    tree.addEventListener("click", function (event) {
      var toggle = event.target.closest(".topic-picker-toggle");
      if (toggle && toggle.topicNode) {
        setOpen(toggle.topicNode, !toggle.topicNode.open);
      }
    });
    tree.addEventListener("keydown", function (event) {
      var node = event.target.topicNode;
      if (!node || event.altKey || event.ctrlKey || event.metaKey) {
        return;
      }
      var shown = visible();
      var at = shown.indexOf(node);
      var onToggle = event.target === node.toggle;
      switch (event.key) {
        case "ArrowDown":
          focusNode(shown[at + 1]);
          break;
        case "ArrowUp":
          if (onToggle) {
            focusNode(node);
          } else {
            focusNode(shown[at - 1]);
          }
          break;
        case "Home":
          focusNode(shown[0]);
          break;
        case "End":
          focusNode(shown[shown.length - 1]);
          break;
        case "ArrowRight":
          if (!node.toggle) {
            return;
          }
          if (!node.open) {
            setOpen(node, true);
          } else {
            focusNode(visible()[visible().indexOf(node) + 1]);
          }
          break;
        case "ArrowLeft":
          if (node.toggle && node.open) {
            setOpen(node, false);
            focusNode(node);
          } else if (node.parent) {
            focusNode(node.parent);
          } else {
            return;
          }
          break;
        case "Enter":
          if (onToggle) {
            return;  // the button's own Enter opens or closes the branch
          }
          if (multiple || !node.input.checked) {
            node.input.click();
          }
          break;
        default:
          return;
      }
      event.preventDefault();
    });

    chips.addEventListener("click", function (event) {
      var chip = event.target.closest(".topic-chip");
      if (!chip || !chip.topicNode) {
        return;
      }
      var buttons = Array.prototype.slice.call(chips.querySelectorAll("button.topic-chip"));
      var at = buttons.indexOf(chip);
      choose(chip.topicNode, false);
      buttons = chips.querySelectorAll("button.topic-chip");
      (buttons[at] || buttons[at - 1] || search).focus();
    });

    if (select.form) {
      select.form.addEventListener("reset", function () {
        window.setTimeout(renderChoices, 0);
      });
    }

    /* In place: the select out of sight and out of the accessibility tree. */
    select.parentNode.insertBefore(widget, select.nextSibling);
    select.hidden = true;
    select.classList.add("topic-picker-replaced");
    select.setAttribute("data-topic-picker-enhanced", id);
    select.topicPickerSearch = search;
    if (plainHelp) {
      plainHelp.hidden = true;
      plainHelp.classList.add("topic-picker-replaced");
    }
    openAncestorsOfChosen();
    renderChoices();
    render();
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("select[data-topic-picker]"), enhance);
  });

  /* The error summary links to the field's id, which is the hidden select's: take the
     person to the picker's search box instead. */
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[href^='#']");
    var target = link && document.getElementById(decodeURIComponent(link.hash.slice(1)));
    if (target && target.topicPickerSearch) {
      event.preventDefault();
      target.topicPickerSearch.focus();
    }
  });
})();
