# micropython: yes
"""The card deck: named virtual cards, and which of them are in the reader's field.

Listeners (the PN532 model waiting for a card, the PC/SC persona reporting removal) are called
as listener(event, name, card) with event PRESENT or REMOVE, also when a fault pulls a card away.
"""

PRESENT = "present"
REMOVE = "remove"


class Deck:
    def __init__(self):
        self._cards = {}
        self._order = []  # names in the order they were added
        self._field = []  # names in the field, in the order they were presented
        self._listeners = []

    def add(self, name, card):
        if name in self._cards:
            raise ValueError("a card named %r is already in the deck" % (name,))
        self._cards[name] = card
        self._order.append(name)
        card.leave_field()  # a card joins the deck outside the field
        return card

    def get(self, name):
        try:
            return self._cards[name]
        except KeyError:
            raise KeyError("no card named %r in the deck (have %r)" % (name, self._order))

    def names(self):
        return list(self._order)

    def add_listener(self, fn):
        self._listeners.append(fn)

    def remove_listener(self, fn):
        if fn in self._listeners:
            self._listeners.remove(fn)

    def _notify(self, event, name, card):
        for fn in list(self._listeners):
            fn(event, name, card)

    def present(self, name, also=False):
        """Put `name` in the field; the cards already there leave unless `also`."""
        card = self.get(name)
        if not also:
            for other in list(self._field):
                if other != name:
                    self.remove(other)
        if name in self._field:
            return card
        self._field.append(name)
        card.on_removed = self._fault_removed
        card.enter_field()
        self._notify(PRESENT, name, card)
        return card

    def remove(self, name=None):
        """Take `name` (default: every card) out of the field."""
        names = list(self._field) if name is None else [name]
        for n in names:
            if n not in self._field:
                continue
            self._field.remove(n)
            card = self._cards[n]
            card.on_removed = None
            card.leave_field()
            self._notify(REMOVE, n, card)

    def swap(self, name):
        """Remove whatever is in the field, then present `name`."""
        self.remove()
        return self.present(name)

    def _fault_removed(self, card):
        for n in self._field:
            if self._cards[n] is card:
                self.remove(n)
                return

    @property
    def in_field(self):
        """The first card in the field, or None."""
        return self._cards[self._field[0]] if self._field else None

    def field(self):
        """All cards in the field, in presentation order."""
        return [self._cards[n] for n in self._field]

    def field_names(self):
        return list(self._field)

    def name_of(self, card):
        for n in self._order:
            if self._cards[n] is card:
                return n
        return None
