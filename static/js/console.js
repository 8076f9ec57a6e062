// console progressive enhancement
