// The plan builder page: wires the library, the plan rows, protocols, checks, preview and save.
import { debounce, fmt, getJSON, postJSON, showErrors } from "./api.js";
import { Library } from "./library.js";
import { PlanRows } from "./plan.js";

const data = JSON.parse(document.getElementById("builder-data").textContent);
const strings = JSON.parse(document.getElementById("builder-strings").textContent);
const form = document.getElementById("pb-form");
const status = document.getElementById("pb-status");
const totals = document.getElementById("pb-totals");
const warnings = document.getElementById("pb-warnings");
let dirty = false;
let checkSequence = 0;

const say = (text, alert = false) => {
    status.textContent = text;
    status.setAttribute("role", alert ? "alert" : "status");
    status.classList.toggle("pb-status-error", alert);
};

const header = () => {
    const values = {};
    for (const input of form.querySelectorAll(".pb-header [name]")) {
        values[input.name] = input.value;
    }
    return values;
};

const showCheck = (answer) => {
    rows.applyCheck(answer.rows);
    const wrong = answer.rows.filter((row) => row.errors).length;
    totals.textContent = rows.rows.length
        ? [answer.totals, wrong ? fmt(strings.not_counted, { n: wrong }) : ""].join(" ").trim()
        : "";
    warnings.replaceChildren(
        ...answer.warnings.map((text) => {
            const p = document.createElement("p");
            p.className = "rehabit-warning";
            p.textContent = text;
            return p;
        }),
    );
};

const check = async () => {
    const sequence = ++checkSequence;
    const { data: answer } = await postJSON(data.urls.check, { patient: data.patient, rows: rows.serialise() }, strings);
    if (sequence !== checkSequence) {
        return;
    }
    if (!answer.ok) {
        say(answer.message || strings.failed, true);
        return;
    }
    showCheck(answer);
};
const checkSoon = debounce(check, 250);

const changed = () => {
    dirty = true;
    checkSoon();
    previewSoon();
};

// A dose suggestion applied or dismissed: recorded on the server at once (a new revision
// when applied), while what is still unsaved here stays unsaved.
const decide = async (row, decision, button) => {
    button.disabled = true;
    say(strings.deciding);
    const { data: answer } = await postJSON(
        data.urls.suggestion,
        { decision, signature: row.signature, revision: data.plan.revision },
        strings,
    );
    button.disabled = false;
    if (!answer.ok) {
        say(answer.message || strings.failed, true);
        return;
    }
    data.plan.revision = answer.revision;
    const revision = document.getElementById("pb-revision");
    if (revision) {
        revision.textContent = fmt(strings.editing, { rev: answer.revision, status: data.plan.status_label });
    }
    if (answer.row) {
        rows.applied(answer.row);
    }
    rows.setSuggestions(answer.suggestions);
    say(answer.message);
    // Focus stays on the row: on what it suggests now, or on its handle.
    const box = row.el.querySelector(".pb-suggestion");
    (box.hidden ? row.el.querySelector(".pb-handle") : box).focus();
    if (answer.row) {
        checkSoon();
    }
};

const rows = new PlanRows({ strings, onChange: changed, variant: (id) => library.card(id), onDecide: decide });

const library = new Library({
    url: data.urls.library,
    patient: data.patient,
    strings,
    onAdd: (card) => {
        if (rows.rows.length >= data.max_exercises) {
            say(fmt(strings.full, { n: data.max_exercises }), true);
            return;
        }
        rows.add(card);
    },
});

for (const row of data.rows) {
    rows.add(row.exercise, row, row.id, { quiet: true });
}
rows.setSuggestions(data.suggestions);

// Protocols: start a new plan from one, or add its exercises to this plan.
const chosenProtocol = () => {
    const select = document.getElementById("pb-protocol");
    if (!select.value) {
        say(strings.choose_protocol, true);
        select.focus();
    }
    return select.value;
};

// Starting from a protocol makes the draft on the server, as the protocol's own page
// does (its words in the patient's language, its first phase, its length), and the
// builder carries on with that draft.
const startFrom = async () => {
    const chosen = chosenProtocol();
    if (!chosen) {
        return;
    }
    if (rows.rows.length && !window.confirm(fmt(strings.replace_rows, { n: rows.rows.length }))) {
        return;
    }
    const button = document.getElementById("pb-protocol-start");
    button.disabled = true;
    say(strings.starting);
    const { data: answer } = await postJSON(
        data.urls.start,
        { patient: data.patient, template: chosen, start_date: header().start_date },
        strings,
    );
    button.disabled = false;
    if (!answer.ok) {
        say(answer.message || strings.failed, true);
        return;
    }
    dirty = false;
    window.location.assign(answer.url);
};

const protocol = async () => {
    const chosen = chosenProtocol();
    if (!chosen) {
        return;
    }
    const url = data.urls.protocol.replace(/0\/$/, `${chosen}/?patient=${data.patient}`);
    const { data: answer } = await getJSON(url, strings);
    if (!answer.rows) {
        say(answer.message || strings.failed, true);
        return;
    }
    const room = data.max_exercises - rows.rows.length;
    for (const row of answer.rows.slice(0, Math.max(room, 0))) {
        rows.add(row.exercise, row, null, { quiet: true });
    }
    if (answer.rows.length > room) {
        say(fmt(strings.full, { n: data.max_exercises }), true);
    } else {
        say(fmt(strings.protocol_added, { name: answer.name, n: answer.rows.length }));
    }
    changed();
};
document.getElementById("pb-protocol-start")?.addEventListener("click", startFrom);
document.getElementById("pb-protocol-add").addEventListener("click", protocol);
form.querySelector(".pb-header").addEventListener("input", () => {
    dirty = true;
    previewSoon();
});

// The handout's first exercise page, drawn by the server from what is on screen. Once
// asked for, it follows the edits: drawn again a moment after the last change (not on
// every keystroke), one drawing at a time, the old picture dimmed meanwhile.
const preview = {
    wanted: false,
    busy: false,
    again: false,
    figure: document.getElementById("pb-preview"),
    picture: document.getElementById("pb-preview-img"),
    state: document.getElementById("pb-preview-state"),
    button: document.getElementById("pb-preview-button"),
};

const drawPreview = async ({ first = false } = {}) => {
    if (preview.busy) {
        preview.again = true;
        return;
    }
    preview.busy = true;
    preview.figure.classList.add("pb-preview-updating");
    preview.figure.setAttribute("aria-busy", "true");
    preview.state.textContent = first ? "" : strings.preview_updating;
    if (first) {
        preview.button.disabled = true;
        say(strings.preparing);
    }
    const { data: answer } = await postJSON(
        data.urls.preview,
        { patient: data.patient, plan: header(), rows: rows.serialise() },
        strings,
    );
    preview.busy = false;
    preview.button.disabled = false;
    if (preview.again) {
        preview.again = false;
        drawPreview();
        return;
    }
    preview.figure.classList.remove("pb-preview-updating");
    preview.figure.removeAttribute("aria-busy");
    if (!answer.ok) {
        preview.state.textContent = answer.message || strings.failed;
        if (first) {
            say(answer.message || strings.failed, true);
        }
        return;
    }
    preview.picture.src = answer.picture;
    preview.state.textContent = strings.preview_current;
    if (first) {
        preview.figure.hidden = false;
        say(strings.preview_ready);
        preview.figure.scrollIntoView({ block: "nearest" });
    }
};
const previewSoon = debounce(() => {
    if (preview.wanted) {
        drawPreview();
    }
}, 1200);

preview.button.addEventListener("click", () => {
    preview.wanted = true;
    drawPreview({ first: preview.figure.hidden });
});

form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const save = document.getElementById("pb-save");
    save.disabled = true;
    say(strings.saving);
    const { status: code, data: answer } = await postJSON(
        data.urls.save,
        {
            patient: data.patient,
            revision: data.plan.revision,
            plan: header(),
            rows: rows.serialise(),
        },
        strings,
    );
    save.disabled = false;
    for (const list of form.querySelectorAll(".pb-header [data-errors-for]")) {
        const messages = (answer.plan_errors || {})[list.dataset.errorsFor];
        showErrors(list, messages);
        if (messages && list.closest("details")) {
            list.closest("details").open = true;
        }
    }
    if (answer.ok) {
        dirty = false;
        say(strings.saved);
        window.location.assign(answer.handover);
        return;
    }
    say(answer.message || strings.failed, true);
    rows.showSaveErrors(answer.row_errors || {});
    if (code === 400 && answer.plan_errors && Object.keys(answer.plan_errors).length) {
        form.querySelector(`.pb-header [name="${Object.keys(answer.plan_errors)[0]}"]`)?.focus();
    }
});

window.addEventListener("beforeunload", (event) => {
    if (dirty) {
        event.preventDefault();
    }
});

library.render(data.library);
if (rows.rows.length) {
    showCheck(data.check);
}
document.body.classList.add("pb-ready");
