// The library panel: search, combinable filters with counts, cards, keyboard.
import { debounce, fmt, getJSON } from "./api.js";

export class Library {
    constructor({ url, patient, strings, onAdd }) {
        this.url = url;
        this.patient = patient;
        this.strings = strings;
        this.onAdd = onAdd;
        this.cards = new Map();
        this.sequence = 0;
        this.search = document.getElementById("pb-q");
        this.results = document.getElementById("pb-results");
        this.count = document.getElementById("pb-count");
        this.template = document.getElementById("pb-card-template");
        this.filters = document.querySelectorAll(".pb-filters input[type=checkbox]");
        const later = debounce(() => this.load(), 150);
        this.search.addEventListener("input", later);
        this.search.addEventListener("keydown", (event) => {
            if (event.key === "ArrowDown") {
                event.preventDefault();
                this.focusCard(0);
            } else if (event.key === "Enter") {
                // Enter in the search box adds the first result: type, Enter, done.
                event.preventDefault();
                const first = this.results.querySelector(".pb-card");
                if (first) {
                    first.click();
                }
            }
        });
        for (const box of this.filters) {
            box.addEventListener("change", () => this.load());
        }
        document.getElementById("pb-clear").addEventListener("click", () => {
            this.search.value = "";
            for (const box of this.filters) {
                box.checked = false;
            }
            this.load();
            this.search.focus();
        });
        this.results.addEventListener("keydown", (event) => this.onKey(event));
    }

    params() {
        const params = new URLSearchParams({ patient: this.patient });
        if (this.search.value.trim()) {
            params.set("q", this.search.value.trim());
        }
        for (const box of this.filters) {
            if (box.checked) {
                params.append(box.name, box.value);
            }
        }
        return params;
    }

    async load() {
        const sequence = ++this.sequence;
        this.results.setAttribute("aria-busy", "true");
        const { data } = await getJSON(`${this.url}?${this.params()}`, this.strings);
        if (sequence !== this.sequence) {
            return; // An older answer arriving after a newer one.
        }
        this.results.removeAttribute("aria-busy");
        if (!data.results) {
            this.count.textContent = data.message || this.strings.failed;
            return;
        }
        this.render(data);
    }

    render(data) {
        for (const card of data.results) {
            this.cards.set(card.id, card);
        }
        const items = data.results.map((card, index) => this.cardElement(card, index === 0));
        this.results.replaceChildren(...items);
        if (data.total === 0) {
            this.count.textContent = this.strings.none_found;
        } else if (data.total > data.results.length) {
            this.count.textContent = fmt(this.strings.some_shown, {
                shown: data.results.length,
                total: data.total,
            });
        } else {
            this.count.textContent = data.total === 1
                ? this.strings.found_one
                : fmt(this.strings.found, { total: data.total });
        }
        for (const [facet, options] of Object.entries(data.facets)) {
            if (facet === "own") {
                this.setCount("own", options);
                continue;
            }
            for (const option of options) {
                this.setCount(`${facet}:${option.value}`, option.count);
            }
        }
    }

    setCount(key, count) {
        const badge = document.querySelector(`[data-count-for="${key}"]`);
        if (badge) {
            badge.textContent = `(${count})`;
            badge.closest(".pb-option").classList.toggle("pb-zero", count === 0);
        }
    }

    cardElement(card, first) {
        const item = this.template.content.firstElementChild.cloneNode(true);
        const button = item.querySelector(".pb-card");
        button.dataset.id = card.id;
        button.tabIndex = first ? 0 : -1;
        const img = item.querySelector("img");
        img.src = card.picture;
        item.querySelector(".pb-card-name").textContent = card.name;
        item.querySelector(".pb-card-meta").textContent =
            `${card.category} · ${card.body_region} · ${card.equipment} · ${card.difficulty}`;
        item.querySelector(".pb-card-dose").textContent = card.dosage_text;
        item.querySelector(".pb-card-own").hidden = !card.own;
        button.addEventListener("click", () => this.onAdd(card));
        return item;
    }

    buttons() {
        return Array.from(this.results.querySelectorAll(".pb-card"));
    }

    focusCard(index) {
        const buttons = this.buttons();
        if (!buttons.length) {
            return;
        }
        const target = buttons[Math.max(0, Math.min(index, buttons.length - 1))];
        for (const button of buttons) {
            button.tabIndex = button === target ? 0 : -1;
        }
        target.focus();
    }

    columns() {
        const buttons = this.buttons();
        if (buttons.length < 2) {
            return 1;
        }
        const top = buttons[0].getBoundingClientRect().top;
        const sameRow = buttons.findIndex((b) => b.getBoundingClientRect().top !== top);
        return sameRow === -1 ? buttons.length : sameRow;
    }

    onKey(event) {
        const buttons = this.buttons();
        const index = buttons.indexOf(document.activeElement);
        if (index === -1) {
            return;
        }
        const moves = {
            ArrowRight: 1,
            ArrowLeft: -1,
            ArrowDown: this.columns(),
            ArrowUp: -this.columns(),
        };
        if (event.key in moves) {
            event.preventDefault();
            if (event.key === "ArrowUp" && index < this.columns()) {
                this.search.focus();
                return;
            }
            this.focusCard(index + moves[event.key]);
        } else if (event.key === "Home" || event.key === "End") {
            event.preventDefault();
            this.focusCard(event.key === "Home" ? 0 : buttons.length - 1);
        } else if (event.key.length === 1 && !event.ctrlKey && !event.metaKey && !event.altKey && event.key !== " ") {
            // Typing anywhere in the results goes on with the search.
            event.preventDefault();
            this.search.focus();
            this.search.value += event.key;
            this.search.dispatchEvent(new Event("input"));
        }
    }

    async card(id) {
        if (!this.cards.has(id)) {
            const { data } = await getJSON(`${this.url}?patient=${this.patient}&ids=${id}`, this.strings);
            for (const card of data.results || []) {
                this.cards.set(card.id, card);
            }
        }
        return this.cards.get(id);
    }
}
